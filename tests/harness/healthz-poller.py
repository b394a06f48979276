"""How long gateways do not answer /healthz (bench-downtime.sh runs it on the demo host).

    healthz-poller.py PORT[,PORT...] STOP_FILE

Asks http://127.0.0.1:<port>/healthz of every port every 0.1 s (0.5 s timeout) until STOP_FILE exists, then prints
one JSON line per port: {"port": P, "outages": [seconds from a first failed answer to the next good one, ...],
"down_at_end": true when the last answer failed (that outage counted until the stop)}.
"""
import json
import os
import sys
import time
import urllib.request


def healthy(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=0.5) as res:
            return res.status == 200
    except Exception:  # refused, reset, timed out, an HTTP error: not answering
        return False


def main(argv):
    ports = [int(p) for p in argv[1].split(",")]
    stop = argv[2]
    down = dict.fromkeys(ports)
    outages = {p: [] for p in ports}
    while not os.path.exists(stop):
        for port in ports:
            ok = healthy(port)
            now = time.monotonic()
            if not ok and down[port] is None:
                down[port] = now
            elif ok and down[port] is not None:
                outages[port].append(round(now - down[port], 2))
                down[port] = None
        time.sleep(0.1)
    now = time.monotonic()
    for port in ports:
        if down[port] is not None:  # still down: counted until now
            outages[port].append(round(now - down[port], 2))
        print(json.dumps({"port": port, "outages": outages[port], "down_at_end": down[port] is not None}))


if __name__ == "__main__":
    main(sys.argv)
