"""The end-to-end receivers: an aiosmtpd SMTP server and a Teams-webhook stand-in (HTTP, answers 202), both on
loopback, each message written to a directory. Prints "smtp PORT" and "teams PORT" once both listen."""

import http.server
import itertools
import os
import socket
import sys
import threading

from aiosmtpd.controller import Controller

out = sys.argv[1]
os.makedirs(os.path.join(out, "smtp"), exist_ok=True)
os.makedirs(os.path.join(out, "teams"), exist_ok=True)
counter = itertools.count(1)


class Store:
    async def handle_DATA(self, server, session, envelope):
        number = next(counter)
        with open(os.path.join(out, "smtp", f"{number:04d}.eml"), "wb") as f:
            f.write(envelope.original_content)
        with open(os.path.join(out, "smtp", f"{number:04d}.rcpt"), "w") as f:
            f.write("\n".join(envelope.rcpt_tos))
        return "250 OK stored"


class Teams(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with open(os.path.join(out, "teams", f"{next(counter):04d}.json"), "wb") as f:
            f.write(body)
        self.send_response(202)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


probe = socket.socket()
probe.bind(("127.0.0.1", 0))
smtp_port = probe.getsockname()[1]
probe.close()
controller = Controller(Store(), hostname="127.0.0.1", port=smtp_port)
controller.start()
teams = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Teams)
threading.Thread(target=teams.serve_forever, daemon=True).start()
print(f"smtp {smtp_port}", flush=True)
print(f"teams {teams.server_address[1]}", flush=True)
threading.Event().wait()
