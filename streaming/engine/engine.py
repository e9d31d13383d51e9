"""The one inference engine: the server's worker, ``vqseg eval`` and ``vqseg bench`` all run it.

A step takes frames of many streams and runs the stages a reader can follow by name:

1. group — frames that can share a forward pass: dropout on/off, the mode's temperature and MC
   rate, the MC samples this step (``bnn``, and ``vqbnn`` with several samples per frame, run at most
   ``mc_chunk`` per step) and, for seeded streams, the seed;
2. prepare + forward — one ``prepare`` and one forward per group, as ``(B, M, C, h, w)`` samples;
3. accumulate — each frame's ``McAccumulator`` (the one MC accumulator);
4. blend — a finished frame's stream blends it (``StreamSession.consume``: ring buffer, importance,
   motion, blur), or, without a stream, its own maps;
5. maps — labels and uncertainty maps on the device.

Transport stays outside: queues, threads, fairness, reply formats and encoding are the server's.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from models import Segmenter
from streaming.engine.accumulator import forward_samples, mc_rate, samples_per_frame
from streaming.engine.frames import FrameOutput, FrameWork, StepResult, StreamFrame
from streaming.uncertainty import single_maps

MC_CHUNK = 4  # bnn samples per step by default: the server's turn size, so eval runs bnn as it is served
_SEED_MIX = 1_000_003  # seeds of consecutive frames of a stream and of streams' seeds stay apart
_SEED_MASK = (1 << 63) - 1


class InferenceEngine:
    """Runs frames through ``segmenter`` and their streams' blends; not thread-safe (one thread owns it)."""

    def __init__(self, segmenter: Segmenter, mc_chunk: int = MC_CHUNK) -> None:
        if mc_chunk < 1:
            raise ValueError(f"mc_chunk must be >= 1, got {mc_chunk}")
        self.segmenter = segmenter
        self.mc_chunk = mc_chunk

    def begin(self, frame: StreamFrame) -> FrameWork:
        """The frame's work with its settings as they are now (``bnn``: N samples; ``vqbnn``: the model's
        samples per frame, 1 unless set; else one pass)."""
        config = frame.settings
        seed = None
        if config.seed is not None:  # this frame's masks follow from the stream's seed and its index
            index = frame.session.frame_index + 1 if frame.session is not None else 0
            seed = (config.seed * _SEED_MIX + index) * _SEED_MIX & _SEED_MASK
        return FrameWork(frame, config, samples_per_frame(self.segmenter, config.mode, config.samples), seed)

    def run(self, frame: StreamFrame) -> FrameOutput:
        """One frame, all its steps (eval and bench: a one-frame call); raises the frame's error."""
        work = self.begin(frame)
        while True:
            (result,) = self.step([work])
            if result.error is not None:
                raise result.error
            if result.output is not None:
                return result.output

    def step(self, works: Sequence[FrameWork]) -> list[StepResult]:
        """One step of every frame in ``works`` (at most one frame per stream)."""
        results = [StepResult() for _ in works]
        groups: dict[tuple[bool, float, float | None, int, int | None], list[int]] = {}
        for i, work in enumerate(works):
            samples = min(work.left, self.mc_chunk)
            seed = None if work.seed is None else work.seed + work.accumulator.count
            mode = work.config.mode
            key = (mode.mc, self.segmenter.meta.temperature(mode.value), mc_rate(self.segmenter, mode), samples, seed)
            groups.setdefault(key, []).append(i)
        for (mc, temperature, rate, samples, seed), members in groups.items():
            started = time.perf_counter()
            try:
                batch = self.segmenter.prepare([works[i].frame.image for i in members])
                probs = forward_samples(self.segmenter, batch, mc, samples, temperature, seed, rate)
                if self.segmenter.device.type == "cuda":
                    torch.cuda.synchronize(self.segmenter.device)
            except Exception as exc:  # the group's frames fail together; others go on
                for i in members:
                    results[i].error, results[i].failed_in = exc, "forward"
                continue
            forward_ms = (time.perf_counter() - started) * 1000.0
            for row, i in enumerate(members):
                work, result = works[i], results[i]
                work.accumulator.add(probs[row])
                result.passes, result.forward_ms = samples, forward_ms
                if work.left <= 0:
                    self._blend(work, result)
        return results

    def _blend(self, work: FrameWork, result: StepResult) -> None:
        started = time.perf_counter()
        frame = work.frame
        try:
            probs, member_entropy = work.accumulator.result()
            if frame.session is None:
                result.output = FrameOutput(single_maps(probs, member_entropy), 0, 1)
            else:
                session = frame.session
                maps = session.consume(probs, frame.timestamp, member_entropy, image=frame.image)
                result.output = FrameOutput(maps, session.frame_index, session.buffer_len)
        except Exception as exc:
            result.error, result.failed_in = exc, "blend"
        result.blend_ms = (time.perf_counter() - started) * 1000.0
