"""Tests of python/e2e.py (run by tests/python.test.sh; E2E_LIB and SHARED from there).

    E2E_LIB=build/libe2e.so /usr/bin/python3 python/test_e2e.py -v
"""
import ctypes
import glob
import os
import struct
import sys
import threading
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

SHARED = os.environ.get("SHARED", "../shared")
TRAINED = os.path.join(SHARED, "models", "eg_simplenet_trained")


# ---- a tiny protobuf reader/writer: enough for onnx.TensorProto and a two-node model ----

def _varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return v, i


def _fields(buf):
    """Yields (field number, wire type, value) of one message."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            n, i = _varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("protobuf wire type %d" % wt)
        yield num, wt, v


NP_OF = {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64, 9: np.bool_,
         11: np.float64}


def read_tensor(path):
    """(name, array) of a serialized onnx.TensorProto (raw_data or the typed fields)."""
    with open(path, "rb") as f:
        buf = f.read()
    dims, dtype, name, raw = [], 1, "", None
    floats, ints = [], []
    for num, wt, v in _fields(buf):
        if num == 1:  # dims: int64, packed or not
            if wt == 2:
                j = 0
                while j < len(v):
                    d, j = _varint(v, j)
                    dims.append(d)
            else:
                dims.append(v)
        elif num == 2:
            dtype = v
        elif num == 4:  # float_data
            floats += list(struct.unpack("<%df" % (len(v) // 4), v)) if wt == 2 else \
                [struct.unpack("<f", v)[0]]
        elif num in (5, 7):  # int32_data, int64_data (varints)
            if wt == 2:
                j = 0
                while j < len(v):
                    d, j = _varint(v, j)
                    ints.append(d - (1 << 64) if d >= 1 << 63 else d)
            else:
                ints.append(v - (1 << 64) if v >= 1 << 63 else v)
        elif num == 8:
            name = v.decode()
        elif num == 9:
            raw = v
    dt = NP_OF[dtype]
    if raw is not None:
        a = np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder("<")).astype(dt)
    else:
        a = np.array(floats if dtype in (1, 11) else ints, dtype=dt)
    return name, a.reshape(dims)


def _key(num, wt):
    return _uvarint(num << 3 | wt)


def _uvarint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _int(num, v):
    return _key(num, 0) + _uvarint(v)


def _msg(num, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return _key(num, 2) + _uvarint(len(payload)) + payload


def _value_info(name, dims):
    shape = b"".join(_msg(1, _msg(2, d) if isinstance(d, str) else _int(1, d)) for d in dims)
    tensor_type = _int(1, 1) + _msg(2, shape)               # elem_type FLOAT, shape
    return _msg(1, name) + _msg(2, _msg(1, tensor_type))    # name, type.tensor_type


def tiny_model(bias):
    """Y = Relu(X + B): X float [N, 3] (N dynamic), B an initializer of 3 floats."""
    node_add = _msg(1, "X") + _msg(1, "B") + _msg(2, "S") + _msg(3, "add") + _msg(4, "Add")
    node_relu = _msg(1, "S") + _msg(2, "Y") + _msg(3, "relu") + _msg(4, "Relu")
    init = _int(1, 3) + _int(2, 1) + _msg(8, "B") + _msg(9, np.asarray(bias, "<f4").tobytes())
    graph = (_msg(1, node_add) + _msg(1, node_relu) + _msg(2, "tiny") + _msg(5, init) +
             _msg(11, _value_info("X", ["N", 3])) + _msg(12, _value_info("Y", ["N", 3])))
    opset = _msg(1, "") + _int(2, 13)
    return _int(1, 7) + _msg(7, graph) + _msg(8, opset)


# ---- the tests ----

class Errors(unittest.TestCase):
    def test_not_onnx(self):
        with self.assertRaises(e2e.Error) as cm:
            e2e.Model(b"\xff\xff\xff this is not an ONNX model", name="junk.onnx")
        self.assertEqual(cm.exception.status, "PARSE")
        self.assertIn("junk.onnx", str(cm.exception))

    def test_missing_file(self):
        with self.assertRaises(e2e.Error) as cm:
            e2e.Model("/nonexistent/model.onnx")
        self.assertEqual(cm.exception.status, "IO")
        self.assertIn("/nonexistent/model.onnx", str(cm.exception))


class Tiny(unittest.TestCase):
    bias = np.array([0.5, -1.0, 2.0], dtype=np.float32)

    def setUp(self):
        self.model = e2e.Model(tiny_model(self.bias), name="tiny.onnx")

    def test_declared(self):
        self.assertEqual(self.model.inputs, [("X", np.float32, (-1, 3))])
        self.assertEqual(self.model.outputs, [("Y", np.float32, (-1, 3))])
        self.assertEqual(self.model.parameter_count, 3)

    def test_run(self):
        x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
        with e2e.Session(self.model, shapes={"X": (5, 3)}) as s:
            y, = s.run({"X": x})
            np.testing.assert_array_equal(y, np.maximum(x + self.bias, 0))
            y2, = s.run(x.astype(np.float64))        # converted to the bound float32
            np.testing.assert_array_equal(y2, y)
            y3 = s.run_dict([x])["Y"]                 # positional list
            np.testing.assert_array_equal(y3, y)
            y[:] = 0                                  # outputs are copies, not views
            np.testing.assert_array_equal(s.run(x)[0], y3)

    def test_bad_shape(self):
        s = e2e.Session(self.model, shapes={"X": (2, 3)})
        with self.assertRaises(e2e.Error) as cm:
            s.run({"X": np.zeros((4, 3), np.float32)})
        self.assertEqual(cm.exception.status, "ARGUMENT")

    def test_isa(self):
        """Session(isa=...) reaches e2e_session_options.isa: the session runs at that level
        (or the default one, if lower), never at one picked from bytes past the struct."""
        self.assertEqual(e2e._lib.e2e_session_options_size(), ctypes.sizeof(e2e._SessionOptions))
        order = ["generic", "avx2", "avx512"]
        default = e2e.Session(self.model, default_batch=1).isa
        self.assertIn(default, order)
        for level in order:
            for _ in range(4):
                with e2e.Session(self.model, default_batch=1, isa=level) as s:
                    self.assertEqual(s.isa, order[min(order.index(level), order.index(default))])
        with self.assertRaises(e2e.Error):
            e2e.Session(self.model, isa="sse9")

    def test_close_order(self):
        s = e2e.Session(self.model, default_batch=2)
        self.model.close()                 # deferred: the session still uses it
        self.assertEqual(s.run(np.ones((2, 3), np.float32))[0].shape, (2, 3))
        s.close()
        self.assertIsNone(self.model._h)


@unittest.skipUnless(os.path.isdir(TRAINED), "trained model not found under " + SHARED)
class Trained(unittest.TestCase):
    """The trained E/Gamma SimpleNet against ONNX Runtime's outputs."""

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(TRAINED, "model.onnx"), "rb") as f:
            cls.model = e2e.Model(f.read(), name="eg_simplenet_trained")

    def test_precision(self):
        """Session(precision="bf16") reaches e2e_session_options.precision: scores move, by
        less than 1e-2; an unknown precision is refused."""
        _, x = read_tensor(os.path.join(TRAINED, "test_data_set_0", "input_0.pb"))
        with e2e.Session(self.model, shapes={"modelInput": x.shape}) as a, \
                e2e.Session(self.model, shapes={"modelInput": x.shape}, precision="bf16") as b:
            ya, yb = a.run(x)[0], b.run(x)[0]
        self.assertLess(float(np.abs(ya - yb).max()), 1e-2)
        self.assertGreater(float(np.abs(ya - yb).max()), 0.0)
        with self.assertRaises(e2e.Error):
            e2e.Session(self.model, precision="fp8")

    def test_reference_outputs(self):
        sets = sorted(glob.glob(os.path.join(TRAINED, "test_data_set_*")))
        self.assertTrue(sets)
        for d in sets:
            name, x = read_tensor(os.path.join(d, "input_0.pb"))
            _, want = read_tensor(os.path.join(d, "output_0.pb"))
            with e2e.Session(self.model, shapes={name: x.shape}) as s:
                got, = s.run({name: x})
            print("%s: batch %d, scores %s" % (os.path.basename(d), x.shape[0],
                                               np.array2string(got.ravel(), precision=6)))
            self.assertEqual(got.shape, want.shape)
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
            self.assertTrue(np.all((got >= 0) & (got <= 1)))

    def test_threads(self):
        """One model, one session per thread, same answers as a single session."""
        _, x = read_tensor(os.path.join(TRAINED, "test_data_set_0", "input_0.pb"))
        want = e2e.Session(self.model, shapes={"modelInput": x.shape}).run(x)[0]
        got = [None] * 4

        def work(i):
            s = e2e.Session(self.model, shapes={"modelInput": x.shape})
            for _ in range(20):
                got[i] = s.run(x)[0]
            s.close()

        ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for g in got:
            np.testing.assert_array_equal(g, want)

    def test_two_sessions(self):
        """Two sessions at each level the machine has, alive together: the same bits."""
        _, x = read_tensor(os.path.join(TRAINED, "test_data_set_0", "input_0.pb"))
        default = e2e.Session(self.model, shapes={"modelInput": x.shape}).isa
        for level in ["generic", "avx2", "avx512"][:["generic", "avx2", "avx512"].index(default) + 1]:
            for _ in range(4):
                a = e2e.Session(self.model, shapes={"modelInput": x.shape}, isa=level)
                b = e2e.Session(self.model, shapes={"modelInput": x.shape}, isa=level)
                self.assertEqual((a.isa, b.isa), (level, level))
                np.testing.assert_array_equal(a.run(x)[0], b.run(x)[0])
                a.close()
                b.close()


if __name__ == "__main__":
    print("libe2e:", e2e.library_path())
    unittest.main(verbosity=2)
