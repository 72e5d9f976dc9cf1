/** A dialler that reaches the target through a proxy; TLS and everything above it cannot tell the difference. */
import createDebug from 'debug';
import type { Dialer } from '../tcp.js';
import { connectViaHttpProxy, type HttpProxyOptions } from './http-connect.js';
import type { ResolvedProxy } from './proxy-settings.js';
import { connectViaSocks5 } from './socks5.js';

const debug = createDebug('halibut:transport');

export function proxyDialer(proxy: ResolvedProxy, extra: Pick<HttpProxyOptions, 'proxyCa'> = {}): Dialer {
  return async (target, options) => {
    debug('tunnelling to %s:%d through %s', target.host, target.port, proxy.display);
    const socket = proxy.kind === 'socks5' ? await connectViaSocks5(proxy, target, options) : await connectViaHttpProxy(proxy, target, { ...options, ...extra });
    debug('tunnel to %s:%d through %s is open', target.host, target.port, proxy.display);
    return socket;
  };
}
