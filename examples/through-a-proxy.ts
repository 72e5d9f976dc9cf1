// Calling an agent through an HTTP CONNECT proxy. The pin is still checked against the agent, end to end: the
// proxy only carries encrypted bytes.
//
// With your own proxy:  HALIBUT_PROXY=http://user:password@proxy.corp:3128 npx tsx examples/through-a-proxy.ts
// Without one, the example starts a small CONNECT proxy of its own on loopback so that it runs anywhere.
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { HalibutClient, generateCertificate } from 'halibut-client';
import { ListeningAgent } from 'halibut-client/testing';

const [agentId, clientId] = await Promise.all([generateCertificate(), generateCertificate()]);
const agent = new ListeningAgent({
  certificate: agentId,
  trustedThumbprints: [clientId.thumbprint],
  services: { IEchoService: { SayHello: (name: string) => `Hello, ${name}, through the proxy!` } },
});
const address = await agent.listen();

// A minimal CONNECT proxy (what squid or tinyproxy do for https traffic).
const proxy = createServer();
let tunnels = 0;
proxy.on('connect', (req, client, head) => {
  const [host, port] = (req.url ?? '').split(':');
  const upstream = connect(Number(port), host, () => {
    tunnels++;
    client.write('HTTP/1.1 200 Connection established\r\n\r\n');
    upstream.write(head);
    upstream.pipe(client).pipe(upstream);
  });
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const proxyUrl = process.env['HALIBUT_PROXY'] ?? `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

const client = new HalibutClient({ certificate: clientId, proxy: proxyUrl });
try {
  const endpoint = { url: address.url, thumbprint: address.thumbprint };
  console.log(await client.call(endpoint, { service: 'IEchoService', method: 'SayHello', params: ['Ada'] }));
  console.log(await client.call(endpoint, { service: 'IEchoService', method: 'SayHello', params: ['Grace'] }));
  console.log(`Tunnels opened by the local proxy: ${tunnels} (the second call reused the first tunnel)`);
} finally {
  await client.close();
  await agent.close();
  proxy.close();
}
