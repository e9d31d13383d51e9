"""The bench's reference: the same model behind the smallest WebSocket loop one would write by hand.

``python -m benchmarks.bare_endpoint --model M --port P`` serves ``/ws``: each binary message is a
JPEG; the answer is the raw uint8 label map at the network's resolution (argmax of one forward pass,
with MC dropout on for the MC modes), nothing else: no sessions, no blend, no uncertainty, no
batching, no backpressure. One inference thread runs the frames of all connections in turn (torch
work off the event loop, as any server must). ``vqseg bench`` compares the served path with it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import torch
import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from models import Segmenter, default_checkpoint_path, load_segmenter


def build_app(segmenter: Segmenter, mc: bool) -> FastAPI:
    app = FastAPI()
    pool = ThreadPoolExecutor(1, thread_name_prefix="bare-inference")

    def infer(jpeg: bytes) -> bytes:
        bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        probs = segmenter.predict(segmenter.prepare([rgb]), mc=mc)
        return probs[0].max(dim=0).indices.to(torch.uint8).cpu().numpy().tobytes()

    pool.submit(infer, cv2.imencode(".jpg", np.zeros((64, 64, 3), np.uint8))[1].tobytes()).result()  # warm up

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.websocket("/ws")
    async def stream(ws: WebSocket) -> None:
        await ws.accept()
        loop = asyncio.get_running_loop()
        try:
            while True:
                jpeg = await ws.receive_bytes()
                await ws.send_bytes(await loop.run_in_executor(pool, infer, jpeg))
        except WebSocketDisconnect:
            return

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare_endpoint", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mc", action="store_true", help="dropout on (one MC pass, as vqbnn runs)")
    parser.add_argument("--backend", default=None, help="auto (default), torch, onnx or openvino")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads of the runtime")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    segmenter = load_segmenter(args.model or default_checkpoint_path(), args.device, args.backend, threads=args.threads)
    app = build_app(segmenter, args.mc)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", ws_per_message_deflate=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
