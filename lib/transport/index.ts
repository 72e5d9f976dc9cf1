export { ConnectError, HostNotFoundError, NotTlsError, ProxyAuthenticationError, ProxyError, ProxyProtocolError, ProxyRefusedError, TlsHandshakeError, type ConnectErrorCode, type ProxyErrorCode, type TlsHandshakeErrorCode } from './errors.js';
export { matchesNoProxy } from './proxy/no-proxy.js';
export { proxyDialer } from './proxy/proxy-dialer.js';
export { parseProxy, resolveProxy, type ProxyOption, type ProxySettings, type ResolvedProxy } from './proxy/proxy-settings.js';
export { dialTcp, type Dialer, type DialOptions, type DialTarget } from './tcp.js';
export { clientSecureContext, secureSocket, type ClientContextOptions, type TlsOptions } from './tls.js';
