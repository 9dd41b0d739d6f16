"""Peer "tornado": Tornado 6's IOStream doing the same receiver workloads as bench/peers/*.ts.

Same protocol as bench/lib/receiver.ts: one JSON argument, prints {"ready": port}, accepts one
connection, times the workload from accept to the last unit, prints {"result": {...}}.
"""
import json
import resource
import sys
import time

import tornado
from tornado.ioloop import IOLoop
from tornado.netutil import bind_sockets
from tornado.tcpclient import TCPClient
from tornado.tcpserver import TCPServer


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def maxrss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def check(what, got, want):
    if got != want:
        raise RuntimeError("%s: got %r, expected %r" % (what, got, want))


async def w1(stream, p):
    total = 0
    while total < p["bytes"]:
        total += len(await stream.read_bytes(65536, partial=True))
    check("bytes", total, p["bytes"])
    return total


async def w1into(stream, p):
    buf = bytearray(65536)
    total = 0
    while total < p["bytes"]:
        total += await stream.read_into(buf, partial=True)
    check("bytes", total, p["bytes"])
    return total


async def w2(stream, p):
    n = p["count"]
    size = 0
    for _ in range(n):
        size += len(await stream.read_until(b"\r\n"))
    check("line bytes", size, n * 34)
    return n


async def w3(stream, p):
    for _ in range(p["count"]):
        m = await stream.read_until(b"\n")
        await stream.write(m)
    return p["count"]


async def w4(stream, p):
    m = await stream.read_until(b"\r\n\r\n")
    check("message length", len(m), p["bytes"] + 4)
    return 1


WORKLOADS = {"w1": w1, "w1into": w1into, "w2": w2, "w3": w3, "w4": w4, "w4slow": w4}
# The receiver connects to the sender (which listens): same loops as w1 / w1into.
CLIENT_WORKLOADS = {"w1c": w1, "w1cinto": w1into}


async def client(params):
    out({"ready": 0, "version": tornado.version})
    t0 = time.perf_counter()
    c0 = cpu()
    stream = await TCPClient().connect("127.0.0.1", params["port"])
    units = await CLIENT_WORKLOADS[params["workload"]](stream, params)
    seconds = time.perf_counter() - t0
    cpus = cpu() - c0
    stream.close()
    out({"result": {"seconds": seconds, "cpuSeconds": cpus, "maxRss": maxrss(), "units": units}})


class Server(TCPServer):
    def __init__(self, params, done):
        super().__init__()
        self.params = params
        self.done = done

    async def handle_stream(self, stream, address):
        self.stop()
        t0 = time.perf_counter()
        c0 = cpu()
        try:
            units = await WORKLOADS[self.params["workload"]](stream, self.params)
        except Exception as e:  # reported to the harness, which marks the run failed
            out({"error": repr(e)})
            self.done(1)
            return
        seconds = time.perf_counter() - t0
        cpus = cpu() - c0
        stream.close()
        out({"result": {"seconds": seconds, "cpuSeconds": cpus, "maxRss": maxrss(), "units": units}})
        self.done(0)


def main():
    params = json.loads(sys.argv[1])
    w = params["workload"]
    if w == "baseline":
        out({"result": {"seconds": 0, "cpuSeconds": 0, "maxRss": maxrss(), "units": 0}})
        return 0
    if w in CLIENT_WORKLOADS:
        try:
            IOLoop.current().run_sync(lambda: client(params))
        except Exception as e:  # reported to the harness, which marks the run failed
            out({"error": repr(e)})
            return 1
        return 0
    if w not in WORKLOADS:
        out({"skip": "Tornado 6 has no %s (callbacks were removed in Tornado 6)" % w if w == "w2cb" else "no %s" % w})
        return 0
    loop = IOLoop.current()
    status = [0]

    def done(code):
        status[0] = code
        loop.add_callback(loop.stop)

    server = Server(params, done)
    sockets = bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    out({"ready": sockets[0].getsockname()[1], "version": tornado.version})
    loop.start()
    return status[0]


if __name__ == "__main__":
    sys.exit(main())
