#!/usr/bin/python3
# A Halibut-speaking TLS 1.2 server that renegotiates, for the tests of "pinned for the life of the connection".
# Debian's python3-openssl drives it (Node's TLS server cannot start a renegotiation with another certificate).
#
# Usage: renegotiating-server.py MODE FIRST_CERT FIRST_KEY SECOND_CERT SECOND_KEY
#   MODE swap:  answers the first call; on the pooled connection's NEXT it renegotiates presenting the second
#               certificate, then answers PROCEED and the second call ("pong 2") if the client went along.
#   MODE stall: answers the first call, then asks for a renegotiation and never completes it; reports when the
#               client's side of the connection goes away.
# Prints "port N" once listening, then one line per event ("renegotiated", "renegotiation failed: …",
# "closed after S s"). Serves one connection, then exits.
import socket
import struct
import sys
import time
import zlib

from OpenSSL import SSL

RESPONSE_TYPE = b"Halibut.Transport.Protocol.ResponseMessage, Halibut"


def context(cert, key):
    ctx = SSL.Context(SSL.TLSv1_2_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
    ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
    ctx.use_certificate_file(cert)
    ctx.use_privatekey_file(key)
    # Ask for the client's certificate, accept any (trust is not what is tested here).
    ctx.set_verify(SSL.VERIFY_PEER, lambda *args: True)
    # OpenSSL will not renegotiate with client certificates without a session id context.
    ctx.set_session_id(b"halibut-renegotiation-test")
    return ctx


def say(text):
    print(text, flush=True)


class Peer:
    def __init__(self, conn):
        self.conn = conn
        self.buffer = b""

    def fill(self):
        chunk = self.conn.recv(65536)
        if not chunk:
            raise EOFError("client closed")
        self.buffer += chunk

    def line(self):
        while b"\r\n" not in self.buffer:
            self.fill()
        text, self.buffer = self.buffer.split(b"\r\n", 1)
        return text.decode("latin1")

    def request_id(self):
        # One raw DEFLATE stream holding the request's BSON; its Message.id is the first string named "id".
        inflater = zlib.decompressobj(-15)
        bson = b""
        while True:
            if not self.buffer:
                self.fill()
            bson += inflater.decompress(self.buffer)
            self.buffer = inflater.unused_data
            if inflater.eof:
                break
            self.buffer = b""
        at = bson.index(b"\x02id\x00") + 4
        (length,) = struct.unpack_from("<i", bson, at)
        return bson[at + 4 : at + 4 + length - 1]

    def respond(self, call_id, result):
        def string(name, value):
            return b"\x02" + name + b"\x00" + struct.pack("<i", len(value) + 1) + value + b"\x00"

        def document(elements):
            return struct.pack("<i", len(elements) + 5) + elements + b"\x00"

        message = document(string(b"$type", RESPONSE_TYPE) + string(b"id", call_id) + b"\x0aerror\x00" + string(b"result", result))
        deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.conn.sendall(deflater.compress(document(b"\x03Message\x00" + message)) + deflater.flush())


def main():
    mode, first_cert, first_key, second_cert, second_key = sys.argv[1:6]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    say(f"port {listener.getsockname()[1]}")
    raw, _ = listener.accept()
    conn = SSL.Connection(context(first_cert, first_key), raw)
    conn.set_accept_state()
    conn.do_handshake()
    peer = Peer(conn)
    try:
        while peer.line() != "MX-CLIENT 1.0":
            pass
        peer.line()
        conn.sendall(b"MX-SERVER 1.0\r\n\r\n")
        peer.respond(peer.request_id(), b"pong 1")
        if mode == "stall":
            conn.renegotiate()
            conn.do_handshake()  # sends HelloRequest; nothing more of the handshake is ever read
            started = time.monotonic()
            raw.settimeout(120)
            try:
                while raw.recv(65536):
                    pass
            except OSError:
                pass
            say(f"closed after {time.monotonic() - started:.1f} s")
            return
        if peer.line() != "NEXT":
            raise RuntimeError("expected NEXT")
        conn.set_context(context(second_cert, second_key))
        conn.renegotiate()
        conn.do_handshake()
        # The client's answer to the HelloRequest arrives with the next read.
        conn.sendall(b"PROCEED\r\n")
        call_id = peer.request_id()
        say("renegotiated" if conn.total_renegotiations() > 0 else "not renegotiated")
        peer.respond(call_id, b"pong 2")
        peer.line()
    except (SSL.Error, EOFError, OSError) as error:
        say(f"renegotiation failed: {error}")


if __name__ == "__main__":
    main()
