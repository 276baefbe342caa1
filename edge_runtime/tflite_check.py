"""A bounds check of a .tflite flatbuffer before any interpreter sees it.

tflite-runtime 2.14 segfaults on a truncated or garbage model file (a half-copied download is
common on a Pi); LiteRT raises. Walking the tables the interpreter will read (subgraphs, tensors,
operators, buffers) and checking that every offset and vector stays inside the file turns both
into the same clear ValueError. Field numbers follow tensorflow/lite/schema/schema.fbs.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

# Field ids in schema.fbs
MODEL_OPERATOR_CODES, MODEL_SUBGRAPHS, MODEL_BUFFERS = 1, 2, 4
SUBGRAPH_TENSORS, SUBGRAPH_INPUTS, SUBGRAPH_OUTPUTS, SUBGRAPH_OPERATORS = 0, 1, 2, 3
TENSOR_SHAPE, TENSOR_TYPE, TENSOR_BUFFER, TENSOR_NAME = 0, 1, 2, 3
OPERATOR_OPCODE, OPERATOR_INPUTS, OPERATOR_OUTPUTS = 0, 1, 2
OPCODE_DEPRECATED_BUILTIN, OPCODE_CUSTOM, OPCODE_BUILTIN = 0, 1, 3
BUFFER_DATA, BUFFER_OFFSET, BUFFER_SIZE = 0, 1, 2
BUILTIN_CUSTOM = 32                       # BuiltinOperator.CUSTOM
TENSOR_TYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string", 6: "bool",
                7: "int16", 8: "complex64", 9: "int8", 10: "float64"}  # TensorType; others by number


class _Reader:
    def __init__(self, data: bytes):
        self.data = data

    def _unpack(self, fmt: str, pos: int):
        if pos < 0 or pos + struct.calcsize(fmt) > len(self.data):
            raise ValueError(f"offset {pos} is outside the file ({len(self.data)} bytes): truncated or corrupt")
        return struct.unpack_from(fmt, self.data, pos)[0]

    def table(self, pos: int) -> tuple[int, int, int]:
        """(table position, vtable position, number of fields) of the table at `pos`."""
        vtable = pos - self._unpack("<i", pos)
        size = self._unpack("<H", vtable)
        if size < 4 or size % 2:
            raise ValueError(f"bad flatbuffer vtable at {vtable}")
        self._unpack("<H", vtable + size - 2)
        return pos, vtable, (size - 4) // 2

    def field(self, table: tuple[int, int, int], index: int) -> int | None:
        pos, vtable, count = table
        if index >= count:
            return None
        offset = self._unpack("<H", vtable + 4 + 2 * index)
        return pos + offset if offset else None

    def ref(self, table, index: int) -> int | None:
        """Position of the table/vector/string an offset field points to."""
        at = self.field(table, index)
        return None if at is None else at + self._unpack("<I", at)

    def vector(self, table, index: int, item_size: int) -> tuple[int, int]:
        """(first element position, length) of a vector field; (0, 0) when absent."""
        at = self.ref(table, index)
        if at is None:
            return 0, 0
        length = self._unpack("<I", at)
        if at + 4 + length * item_size > len(self.data):
            raise ValueError(f"vector at {at} of {length} items runs past the end of the file: truncated")
        return at + 4, length

    def tables(self, table, index: int) -> list[tuple[int, int, int]]:
        start, length = self.vector(table, index, 4)
        return [self.table(start + 4 * i + self._unpack("<I", start + 4 * i)) for i in range(length)]

    def ints(self, table, index: int) -> list[int]:
        start, length = self.vector(table, index, 4)
        return list(struct.unpack_from(f"<{length}i", self.data, start)) if length else []


def check_tflite(data: bytes) -> None:
    """Raise ValueError unless `data` is a structurally sound TFLite flatbuffer."""
    if len(data) < 16 or data[4:8] != b"TFL3":
        raise ValueError("not a TFLite flatbuffer (no TFL3 identifier)")
    reader = _Reader(data)
    model = reader.table(reader._unpack("<I", 0))
    buffers = reader.tables(model, MODEL_BUFFERS)
    for buffer in buffers:
        reader.vector(buffer, BUFFER_DATA, 1)
        offset_at, size_at = reader.field(buffer, BUFFER_OFFSET), reader.field(buffer, BUFFER_SIZE)
        if offset_at is not None and size_at is not None:
            offset, size = reader._unpack("<Q", offset_at), reader._unpack("<Q", size_at)
            if offset > 1 and offset + size > len(data):
                raise ValueError(f"buffer data [{offset}, {offset + size}) runs past the end of the file")
    n_opcodes = len(reader.tables(model, MODEL_OPERATOR_CODES))
    subgraphs = reader.tables(model, MODEL_SUBGRAPHS)
    if not subgraphs:
        raise ValueError("the model has no subgraph")
    for subgraph in subgraphs:
        tensors = reader.tables(subgraph, SUBGRAPH_TENSORS)
        for tensor in tensors:
            reader.ints(tensor, TENSOR_SHAPE)
            at = reader.field(tensor, TENSOR_BUFFER)
            if at is not None and reader._unpack("<I", at) >= max(len(buffers), 1):
                raise ValueError("a tensor refers to a buffer that does not exist")
        indices = reader.ints(subgraph, SUBGRAPH_INPUTS) + reader.ints(subgraph, SUBGRAPH_OUTPUTS)
        for operator in reader.tables(subgraph, SUBGRAPH_OPERATORS):
            at = reader.field(operator, OPERATOR_OPCODE)
            if at is not None and reader._unpack("<I", at) >= n_opcodes:
                raise ValueError("an operator refers to an operator code that does not exist")
            indices += reader.ints(operator, OPERATOR_INPUTS) + reader.ints(operator, OPERATOR_OUTPUTS)
        if any(i >= len(tensors) or i < -1 for i in indices):
            raise ValueError("an operator refers to a tensor that does not exist")


@dataclass(frozen=True)
class Operator:
    builtin_code: int     # BuiltinOperator number (32 = CUSTOM)
    custom_code: str      # the custom op's name, "" for builtins


@dataclass(frozen=True)
class GraphSummary:
    """What the main subgraph runs and on which types; enough to decide where a model can run."""
    operators: tuple[Operator, ...]             # one per operator, in execution order
    tensor_types: tuple[tuple[str, str], ...]   # (tensor name, type name) per tensor
    inputs: tuple[int, ...]                     # tensor indices
    outputs: tuple[int, ...]
    subgraphs: int


def graph_summary(data: bytes) -> GraphSummary:
    """Operators and tensor types of the first subgraph of a checked .tflite (raises ValueError if unsound)."""
    check_tflite(data)
    reader = _Reader(data)
    model = reader.table(reader._unpack("<I", 0))

    def string(table, index: int) -> str:
        start, length = reader.vector(table, index, 1)
        return data[start:start + length].decode("utf-8", "replace") if length else ""

    def scalar(table, index: int, fmt: str, default: int) -> int:
        at = reader.field(table, index)
        return default if at is None else reader._unpack(fmt, at)

    codes = []
    for code in reader.tables(model, MODEL_OPERATOR_CODES):
        # Codes above 127 live only in the newer int32 field; the old byte field holds 127 for them.
        builtin = max(scalar(code, OPCODE_DEPRECATED_BUILTIN, "<b", 0), scalar(code, OPCODE_BUILTIN, "<i", 0))
        codes.append(Operator(builtin, string(code, OPCODE_CUSTOM) if builtin == BUILTIN_CUSTOM else ""))
    subgraphs = reader.tables(model, MODEL_SUBGRAPHS)
    main = subgraphs[0]
    operators = tuple(codes[scalar(op, OPERATOR_OPCODE, "<I", 0)] for op in reader.tables(main, SUBGRAPH_OPERATORS))
    tensors = []
    for tensor in reader.tables(main, SUBGRAPH_TENSORS):
        kind = scalar(tensor, TENSOR_TYPE, "<b", 0)
        tensors.append((string(tensor, TENSOR_NAME), TENSOR_TYPES.get(kind, f"type {kind}")))
    return GraphSummary(operators, tuple(tensors), tuple(reader.ints(main, SUBGRAPH_INPUTS)),
                        tuple(reader.ints(main, SUBGRAPH_OUTPUTS)), len(subgraphs))
