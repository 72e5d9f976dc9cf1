export { ConnectError, HostNotFoundError, NotTlsError, TlsHandshakeError } from './errors.js';
export { dialTcp, type Dialer, type DialOptions, type DialTarget } from './tcp.js';
export { secureSocket, type TlsOptions } from './tls.js';
