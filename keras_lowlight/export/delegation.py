"""Which part of a `.tflite` graph XNNPACK actually runs: read from the interpreter's own nodes.

A LiteRT interpreter that applies XNNPACK replaces every run of supported ops with one
`DELEGATE` node; the ops it could not take stay in the execution plan as builtin kernels and
run between the delegate partitions, one tensor hand-over each way (a mobile int8 graph that
falls back this way was measured ~2–3× slower). The replaced nodes still appear in the node
list, so "which ops ran outside" is found by walking back from the graph's outputs: a tensor
produced by a delegate node leads to that delegate's inputs; any other produced tensor belongs
to an op that runs outside XNNPACK. Whole-graph delegation means one delegate partition and
nothing outside it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DELEGATE_NODE = "DELEGATE"


@dataclass
class DelegationReport:
    """How XNNPACK covered a graph at one input shape."""

    partitions: int  # delegate nodes on the path from inputs to outputs
    outside_ops: list[str] = field(default_factory=list)  # op names that run as builtin kernels
    total_ops: int = 0  # ops of the original graph
    error: str | None = None  # XNNPACK refused to prepare the graph at all

    @property
    def whole_graph(self) -> bool:
        return self.error is None and self.partitions == 1 and not self.outside_ops

    def describe(self) -> str:
        if self.error is not None:
            return f"XNNPACK refused the graph: {self.error}"
        if self.whole_graph:
            return f"XNNPACK runs the whole graph ({self.total_ops} ops in 1 partition)"
        outside = ", ".join(sorted(set(self.outside_ops))) or "none"
        return (f"XNNPACK: {self.partitions} partition(s); {len(self.outside_ops)} of {self.total_ops} ops "
                f"outside ({outside})")


def delegation_report(model: str | os.PathLike | bytes, input_hw: tuple[int, int] = (64, 64),
                      num_threads: int = 1) -> DelegationReport:
    """Loads `model` with LiteRT's default delegates (XNNPACK), allocates it at a (1, H, W, C)
    input (only where the input size is dynamic) and reports what ran outside XNNPACK."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    source = {"model_content": bytes(model)} if isinstance(model, (bytes, bytearray)) else {"model_path": str(model)}
    interpreter = Interpreter(**source, num_threads=num_threads, experimental_op_resolver_type=OpResolverType.AUTO)
    for detail in interpreter.get_input_details():
        signature = list(detail["shape_signature"])
        if any(d < 0 for d in signature):
            shape = [1, *input_hw, signature[-1]] if len(signature) == 4 else [max(d, 1) for d in signature]
            interpreter.resize_tensor_input(detail["index"], shape, strict=False)
    try:
        interpreter.allocate_tensors()  # XNNPACK is applied here
    except RuntimeError as e:  # e.g. an int8 conv whose calibrated range collapsed
        return DelegationReport(partitions=0, error=str(e).strip().splitlines()[0][:200])
    native = interpreter._interpreter  # noqa: SLF001  (node list: the only view of the delegation)
    names = [native.NodeName(i) for i in range(native.NumNodes())]
    producer: dict[int, int] = {}
    for node, name in enumerate(names):
        for tensor in native.NodeOutputs(node):
            # A delegate node "produces" its partition's outputs; later entries win, so the
            # delegate (appended after the originals) shadows the replaced op that computed it.
            producer[int(tensor)] = node
    outside, partitions, seen = [], set(), set()
    stack = [int(t) for t in native.OutputIndices()]
    while stack:
        tensor = stack.pop()
        node = producer.get(tensor)
        if node is None or node in seen:  # graph input, constant, or already visited
            continue
        seen.add(node)
        if names[node] == DELEGATE_NODE:
            partitions.add(node)
        else:
            outside.append(names[node])
        stack.extend(int(t) for t in native.NodeInputs(node) if t >= 0)
    total = sum(1 for name in names if name != DELEGATE_NODE)
    return DelegationReport(partitions=len(partitions), outside_ops=outside, total_ops=total)
