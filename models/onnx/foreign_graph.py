"""Reading an ONNX graph that vqseg did not write: its image input, its outputs, and its dropout.

``Dropout`` nodes (opset 12 and newer) are made live for MC sampling by wiring their
``training_mode`` input to a new boolean graph input, ``vqseg_mc``; a missing ratio becomes 0.5,
ONNX's default. Their ``ratio`` inputs are wired to a new float input, ``vqseg_rate``, so one MC rate
applies to all of them: a node at the graph's largest ratio takes the rate itself, one at a smaller
ratio ``r`` takes ``rate * r / max`` (the ratios keep their proportions; the file's own rate is the
largest). A ratio computed in the graph (not a constant) leaves the rate fixed. Random-mask patterns
(``RandomUniformLike`` and friends, what torch's dynamo exporter writes for a dropout exported in
training mode) sample on every pass, at a rate baked into the graph: such a graph has no deterministic
pass and no settable rate. Nothing here runs the graph; ``models.onnx.foreign`` checks what it found.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MC_INPUT = "vqseg_mc"
RATE_INPUT = "vqseg_rate"
RANDOM_OPS = frozenset({"RandomUniform", "RandomUniformLike", "RandomNormal", "RandomNormalLike", "Bernoulli",
                        "Multinomial"})
FLOAT_TYPES = {TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16}
PREFERRED_OUTPUTS = ("out", "logits", "output", "probs", "probabilities", "seg_logits")

Dim = int | str | None


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[Dim, ...]
    elem_type: int


@dataclass
class GraphFacts:
    """What the graph holds; ``dropout_rates`` has one entry per Dropout node made live (None: not a
    constant), ``frozen_dropout`` the nodes that could not be (opset < 12); ``rate_input`` whether their
    ratios were wired to ``vqseg_rate``."""

    image: TensorSpec
    outputs: list[TensorSpec]
    opset: int
    dropout_rates: list[float | None] = field(default_factory=list)
    frozen_dropout: int = 0
    random_ops: int = 0
    rate_input: bool = False

    @property
    def rate_refusal(self) -> str | None:
        """Why the MC rate of this graph cannot be set (None: it can, through ``vqseg_rate``)."""
        if self.random_ops:
            return (f"its masks are drawn by {self.random_ops} random op(s) (RandomUniformLike & co., what torch's "
                    "dynamo exporter writes for a dropout in training mode) whose rate is baked into the graph; "
                    "export the model with Dropout nodes (torch.onnx.export(..., dynamo=False, "
                    "training=TrainingMode.PRESERVE)) to set it")
        if self.dropout_rates and not self.rate_input:
            return "a Dropout node's ratio is computed in the graph, not a constant"
        return None


class ForeignGraphError(ValueError):
    """The graph does not have the shape vqseg serves: one image input, per-class outputs."""


def tensor_spec(value: onnx.ValueInfoProto) -> TensorSpec:
    tensor = value.type.tensor_type
    dims: list[Dim] = []
    for d in tensor.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or None))
    return TensorSpec(value.name, tuple(dims), tensor.elem_type)


def inspect_graph(model: onnx.ModelProto, source: str, input_name: str | None = None) -> GraphFacts:
    graph = model.graph
    initialisers = {i.name for i in graph.initializer}
    inputs = [tensor_spec(v) for v in graph.input if v.name not in initialisers]
    if input_name is not None:
        inputs = [i for i in inputs if i.name == input_name] or _missing("input", input_name, inputs, source)
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs) or "none"
        raise ForeignGraphError(f"{source}: the graph has {len(inputs)} inputs ({names}); vqseg feeds one image "
                                "batch: name it with input_name in the sidecar")
    image = inputs[0]
    if image.elem_type not in FLOAT_TYPES:
        raise ForeignGraphError(f"{source}: input {image.name!r} is {TensorProto.DataType.Name(image.elem_type)}, "
                                "not float32 or float16")
    if len(image.shape) != 4 or (isinstance(image.shape[1], int) and image.shape[1] != 3):
        raise ForeignGraphError(f"{source}: input {image.name!r} has shape {list(image.shape)}; vqseg feeds "
                                "(batch, 3, height, width) RGB batches (NCHW)")
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    facts = GraphFacts(image=image, outputs=[tensor_spec(v) for v in graph.output], opset=opset)
    function_nodes = (n for f in model.functions for n in f.node)
    for node in (*_all_nodes(graph), *function_nodes):
        if node.op_type in RANDOM_OPS:
            facts.random_ops += 1
    return facts


def choose_output(facts: GraphFacts, output_name: str | None, source: str) -> TensorSpec:
    """The per-class output: the one named, else the only one, else a conventional name, else the first 4-D."""
    outputs = facts.outputs
    if output_name is not None:
        return next((o for o in outputs if o.name == output_name), None) or _missing(
            "output", output_name, outputs, source
        )
    if len(outputs) == 1:
        return outputs[0]
    for name in PREFERRED_OUTPUTS:
        for o in outputs:
            if o.name == name:
                return o
    four_d = [o for o in outputs if len(o.shape) == 4]
    if not four_d:
        raise ForeignGraphError(f"{source}: no 4-D output among {', '.join(o.name for o in outputs)}")
    return four_d[0]


def make_dropout_live(model: onnx.ModelProto, facts: GraphFacts) -> bool:
    """Wire every top-level Dropout node's ``training_mode`` to the boolean input ``vqseg_mc`` and, when
    every ratio is a constant, its ratio to the float input ``vqseg_rate`` (in place); True when at least
    one node was made live."""
    graph = model.graph
    constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    live_nodes: list[onnx.NodeProto] = []
    for index, node in enumerate(list(graph.node)):
        if node.op_type != "Dropout":
            continue
        if facts.opset < 12:
            facts.frozen_dropout += 1
            continue
        inputs = list(node.input) + [""] * (3 - len(node.input))
        if not inputs[1]:
            ratio_name = f"vqseg_dropout_ratio_{index}"
            graph.initializer.append(numpy_helper.from_array(np.array(0.5, np.float32), ratio_name))
            inputs[1] = ratio_name
            constants[ratio_name] = np.array(0.5, np.float32)
        ratio = constants.get(inputs[1])
        rate = float(ratio) if ratio is not None and ratio.size == 1 else None
        if rate == 0.0:
            continue
        inputs[2] = MC_INPUT
        del node.input[:]
        node.input.extend(inputs)
        facts.dropout_rates.append(rate)
        live_nodes.append(node)
    facts.frozen_dropout += sum(1 for n in _all_nodes(graph) if n.op_type == "Dropout") - sum(
        1 for n in graph.node if n.op_type == "Dropout"
    )
    if live_nodes:
        graph.input.append(helper.make_tensor_value_info(MC_INPUT, TensorProto.BOOL, []))
        if all(r is not None for r in facts.dropout_rates):
            _wire_rate(graph, live_nodes, [float(r) for r in facts.dropout_rates if r is not None])
            facts.rate_input = True
    return bool(live_nodes)


def _wire_rate(graph: onnx.GraphProto, nodes: list[onnx.NodeProto], ratios: list[float]) -> None:
    """Every node's ratio from ``vqseg_rate``: the rate itself at the largest ratio, ``rate * r / max``
    (a ``Mul`` placed first in the graph, it needs only the input) at a smaller one."""
    top = max(ratios)
    scaling: list[onnx.NodeProto] = []
    for index, (node, ratio) in enumerate(zip(nodes, ratios, strict=True)):
        if ratio == top:
            node.input[1] = RATE_INPUT
            continue
        factor, scaled = f"vqseg_rate_factor_{index}", f"vqseg_rate_scaled_{index}"
        graph.initializer.append(numpy_helper.from_array(np.array(ratio / top, np.float32), factor))
        scaling.append(helper.make_node("Mul", [RATE_INPUT, factor], [scaled], name=f"vqseg_rate_mul_{index}"))
        node.input[1] = scaled
    if scaling:  # topological order: the Mul nodes depend on the input and an initialiser only
        nodes_now = [*scaling, *graph.node]
        del graph.node[:]
        graph.node.extend(nodes_now)
    graph.input.append(helper.make_tensor_value_info(RATE_INPUT, TensorProto.FLOAT, []))


def _all_nodes(graph: onnx.GraphProto) -> Iterator[onnx.NodeProto]:
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from _all_nodes(attribute.g)
            elif attribute.type == onnx.AttributeProto.GRAPHS:
                for sub in attribute.graphs:
                    yield from _all_nodes(sub)


def _missing(kind: str, name: str, found: list[TensorSpec], source: str):  # type: ignore[no-untyped-def]
    raise ForeignGraphError(f"{source}: no {kind} named {name!r}; the graph has {', '.join(t.name for t in found)}")
