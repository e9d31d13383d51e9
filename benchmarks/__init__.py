"""``vqseg bench``: frames per second, latency and memory, of the raw model and of the served stream.

This package sits on top of the layers (like ``vqseg.cli``): it drives the real server with the real
client, so it may import ``models``, ``streaming``, ``evaluation`` and ``server``; nothing imports it.

- ``model_bench``: the network alone, per mode, in this process (``evaluation.throughput.measure_fps``);
- ``server_bench``: a real ``vqseg serve`` on 127.0.0.1 and 1, 4, 8 concurrent WebSocket streams;
- ``report``: the JSON file and the markdown table.

Each part is a *section* of the report; ``benchmarks.command`` runs the sections the flags
ask for (room for more, e.g. load and soak tests).
"""
