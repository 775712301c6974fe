"""e2e from Python: a small ctypes binding of include/e2e.h (numpy arrays in and out).

    import numpy as np, e2e
    model = e2e.Model("model.onnx")                     # or e2e.Model(open(..., "rb").read())
    sess = e2e.Session(model, shapes={"modelInput": (4, 1, 32, 32)}, threads=1)  # isa="avx2"...
    scores, = sess.run({"modelInput": frames})          # list of numpy arrays (copies)
    sess.run_dict(frames)                               # {"modelOutput": array}

The shared library is found through the E2E_LIB environment variable (a path to
libe2e.so or to the folder holding it), else ../build/libe2e.so next to this file, else the
system's libe2e.so.0 (make install). Failures raise e2e.Error, whose message is the
library's e2e_error message and whose .status is the e2e_status name ("PARSE", "SHAPE"...).

Threads: a Model may be shared by threads; a Session belongs to one thread at a time.
ctypes releases the GIL during calls, so sessions in different threads run in parallel.
"""
import ctypes
import os

import numpy as np

__all__ = ["Error", "Model", "Session", "library_path"]

MAX_RANK = 8

_STATUS = ["OK", "IO", "PARSE", "UNSUPPORTED", "INVALID", "SHAPE", "ARGUMENT", "NOMEM",
           "LIMIT", "DYNAMIC", "DEVICE"]

# e2e_dtype (ONNX TensorProto.DataType numbers) <-> numpy
_NP_OF = {k: np.dtype(v) for k, v in
          {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64, 9: np.bool_}.items()}
_DT_OF = {v: k for k, v in _NP_OF.items()}
_DEVICES = {"cpu": 0, "cuda": 1, "auto": 2}
# e2e_isa_level; a level above the CPU's (or the environment's E2E_ISA) runs at that cap
ISA_LEVELS = {"auto": 0, "generic": 1, "avx2": 2, "avx512": 3}
# e2e_precision: "bf16" keeps constant Gemm/MatMul weights in bfloat16 (scores within ~1e-2)
PRECISIONS = {"fp32": 0, "bf16": 1}


class Error(RuntimeError):
    """A failed e2e call: str(e) is the library's message, e.status the status name."""

    def __init__(self, message, status="ARGUMENT"):
        super().__init__(message)
        self.status = status


class _Error(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("message", ctypes.c_char * 1024)]


class _View(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("rank", ctypes.c_int),
                ("dims", ctypes.c_int64 * MAX_RANK), ("data", ctypes.c_void_p)]


class _Binding(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("rank", ctypes.c_int),
                ("dims", ctypes.POINTER(ctypes.c_int64))]


class _SessionOptions(ctypes.Structure):
    _fields_ = [("threads", ctypes.c_int), ("max_arena_bytes", ctypes.c_size_t),
                ("device", ctypes.c_int), ("shapes", ctypes.POINTER(_Binding)),
                ("n_shapes", ctypes.c_int), ("default_batch", ctypes.c_int64),
                ("fixed_inputs", ctypes.POINTER(_View)), ("n_fixed_inputs", ctypes.c_int),
                ("optimize", ctypes.c_int), ("isa", ctypes.c_int),
                ("any_batch", ctypes.c_int), ("precision", ctypes.c_int)]


class _ModelOptions(ctypes.Structure):
    _fields_ = [("max_model_bytes", ctypes.c_size_t)]


def library_path():
    """The libe2e.so this module loads (see the module docstring)."""
    env = os.environ.get("E2E_LIB")
    if env:
        return os.path.join(env, "libe2e.so") if os.path.isdir(env) else env
    here = os.path.dirname(os.path.abspath(__file__))
    local = os.path.join(here, os.pardir, "build", "libe2e.so")
    if os.path.exists(local):
        return os.path.normpath(local)
    return "libe2e.so.0"


def _load_library():
    path = library_path()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError("e2e: cannot load %s (%s); build it with `make` or set E2E_LIB"
                          % (path, e)) from None
    P, c_int, st = ctypes.c_void_p, ctypes.c_int, ctypes.c_int
    perr = ctypes.POINTER(_Error)
    sigs = {
        "e2e_status_name": (ctypes.c_char_p, [st]),
        "e2e_model_load_file_ex": (st, [ctypes.c_char_p, ctypes.POINTER(_ModelOptions),
                                        ctypes.POINTER(P), perr]),
        "e2e_model_load_buffer": (st, [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                       ctypes.POINTER(P), perr]),
        "e2e_model_free": (None, [P]),
        "e2e_model_name": (ctypes.c_char_p, [P]),
        "e2e_model_input_count": (c_int, [P]),
        "e2e_model_output_count": (c_int, [P]),
        "e2e_model_input": (st, [P, c_int, ctypes.POINTER(_View)]),
        "e2e_model_output": (st, [P, c_int, ctypes.POINTER(_View)]),
        "e2e_model_parameter_count": (ctypes.c_int64, [P]),
        "e2e_model_opset": (c_int, [P]),
        "e2e_session_options_default": (_SessionOptions, []),
        "e2e_session_create": (st, [P, ctypes.POINTER(_SessionOptions), ctypes.POINTER(P),
                                    perr]),
        "e2e_session_free": (None, [P]),
        "e2e_session_run": (st, [P, ctypes.POINTER(_View), c_int, perr]),
        "e2e_session_input_count": (c_int, [P]),
        "e2e_session_output_count": (c_int, [P]),
        "e2e_session_input": (st, [P, c_int, ctypes.POINTER(_View)]),
        "e2e_session_output": (st, [P, c_int, ctypes.POINTER(_View)]),
        "e2e_session_arena_bytes": (ctypes.c_size_t, [P]),
        "e2e_session_isa": (c_int, [P]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    # _SessionOptions must be the library's e2e_session_options field for field: a shorter
    # copy left e2e_session_create reading isa from the bytes after it (random levels)
    lib.e2e_session_options_size.restype, lib.e2e_session_options_size.argtypes = ctypes.c_size_t, []
    if lib.e2e_session_options_size() != ctypes.sizeof(_SessionOptions):
        raise ImportError("e2e: %s has a %d-byte e2e_session_options, python/e2e.py's copy is %d "
                          "bytes: the binding and include/e2e.h disagree"
                          % (path, lib.e2e_session_options_size(), ctypes.sizeof(_SessionOptions)))
    return lib


_lib = _load_library()


def _check(status, err):
    if status != 0:
        name = _STATUS[status] if 0 <= status < len(_STATUS) else str(status)
        raise Error(err.message.decode("utf-8", "replace") or "e2e: %s" % name, name)


def _decl(v):
    """(name, numpy dtype or None, shape with -1 for dynamic dims) of a view."""
    return (v.name.decode() if v.name else None, _NP_OF.get(v.dtype),
            tuple(v.dims[i] for i in range(v.rank)))


def _view_of(name, arr, keep):
    """A view of a C-contiguous numpy array; `keep` holds what must outlive the call."""
    if arr.dtype not in _DT_OF:
        raise Error("e2e: input %r: dtype %s is not supported" % (name, arr.dtype))
    if arr.ndim > MAX_RANK:
        raise Error("e2e: input %r: rank %d > %d" % (name, arr.ndim, MAX_RANK))
    v = _View()
    if name is not None:
        bname = name.encode()
        keep.append(bname)
        v.name = bname
    v.dtype = _DT_OF[arr.dtype]
    v.rank = arr.ndim
    for i, d in enumerate(arr.shape):
        v.dims[i] = d
    v.data = arr.ctypes.data
    keep.append(arr)
    return v


class Model:
    """An ONNX model loaded once: Model(path) or Model(bytes). Immutable, thread-shareable."""

    def __init__(self, source, name=None, max_model_bytes=0):
        self._h = None
        self._sessions = 0      # open sessions made from this model
        self._closing = False
        err, h = _Error(), ctypes.c_void_p()
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            _check(_lib.e2e_model_load_buffer(data, len(data),
                                              name.encode() if name else None,
                                              ctypes.byref(h), ctypes.byref(err)), err)
        else:
            opt = _ModelOptions(max_model_bytes)
            _check(_lib.e2e_model_load_file_ex(os.fsencode(source), ctypes.byref(opt),
                                               ctypes.byref(h), ctypes.byref(err)), err)
        self._h = h

    def _decls(self, count, get):
        out = []
        for i in range(count(self._h)):
            v = _View()
            get(self._h, i, ctypes.byref(v))
            out.append(_decl(v))
        return out

    @property
    def inputs(self):
        """[(name, dtype, shape)] of the graph inputs; dynamic dimensions are -1."""
        return self._decls(_lib.e2e_model_input_count, _lib.e2e_model_input)

    @property
    def outputs(self):
        return self._decls(_lib.e2e_model_output_count, _lib.e2e_model_output)

    @property
    def name(self):
        return _lib.e2e_model_name(self._h).decode()

    @property
    def opset(self):
        return _lib.e2e_model_opset(self._h)

    @property
    def parameter_count(self):
        return _lib.e2e_model_parameter_count(self._h)

    def close(self):
        """Frees the model; if sessions made from it are still open, when the last closes."""
        self._closing = True
        if self._h and self._sessions == 0:
            _lib.e2e_model_free(self._h)
            self._h = None

    def __del__(self):
        self.close()


class Session:
    """A model bound to input shapes, for one thread at a time.

    shapes: {input name: shape} for inputs with dynamic dimensions (others use their
    declared shape, dynamic dims default_batch). fixed_inputs: {name: array} folded as
    constants. device: "cpu", "cuda" or "auto". precision: "fp32" or "bf16" (constant
    Gemm/MatMul weights in bfloat16, e2e_session_options.precision).
    """

    def __init__(self, model, shapes=None, threads=1, default_batch=1, fixed_inputs=None,
                 optimize=True, max_arena_bytes=0, device="cpu", isa="auto", precision="fp32"):
        self._h = None
        if not model._h or model._closing:
            raise Error("e2e: the model is closed")
        self._model = model  # a session must not outlive its model
        opt = _lib.e2e_session_options_default()
        opt.threads = threads
        opt.default_batch = default_batch
        opt.optimize = 1 if optimize else 0
        opt.max_arena_bytes = max_arena_bytes
        opt.device = _DEVICES[device]
        if isa not in ISA_LEVELS:
            raise Error("e2e: isa %r is not one of %s" % (isa, ", ".join(ISA_LEVELS)))
        opt.isa = ISA_LEVELS[isa]
        if precision not in PRECISIONS:
            raise Error("e2e: precision %r is not one of %s" % (precision, ", ".join(PRECISIONS)))
        opt.precision = PRECISIONS[precision]
        keep = []
        if shapes:
            binds = (_Binding * len(shapes))()
            for b, (name, shape) in zip(binds, shapes.items()):
                bname, dims = name.encode(), (ctypes.c_int64 * max(len(shape), 1))(*shape)
                keep += [bname, dims]
                b.name, b.rank, b.dims = bname, len(shape), dims
            opt.shapes, opt.n_shapes = binds, len(shapes)
        if fixed_inputs:
            views = (_View * len(fixed_inputs))()
            for i, (name, a) in enumerate(fixed_inputs.items()):
                views[i] = _view_of(name, np.asarray(a, order="C"), keep)
            opt.fixed_inputs, opt.n_fixed_inputs = views, len(fixed_inputs)
        err, h = _Error(), ctypes.c_void_p()
        _check(_lib.e2e_session_create(model._h, ctypes.byref(opt), ctypes.byref(h),
                                       ctypes.byref(err)), err)
        self._h = h
        model._sessions += 1
        # [(name, dtype, bound shape)] of the inputs run() takes (fixed inputs left out)
        self.inputs = []
        for i in range(_lib.e2e_session_input_count(h)):
            v = _View()
            _lib.e2e_session_input(h, i, ctypes.byref(v))
            if not fixed_inputs or _decl(v)[0] not in fixed_inputs:
                self.inputs.append(_decl(v))
        self.output_names = [n for n, _, _ in model.outputs]

    @property
    def arena_bytes(self):
        return _lib.e2e_session_arena_bytes(self._h)

    @property
    def isa(self):
        """The instruction-set level the session's kernels run at ("generic", "avx2", "avx512")."""
        level = _lib.e2e_session_isa(self._h)
        return next(k for k, v in ISA_LEVELS.items() if v == level)

    def run(self, inputs):
        """Runs once. inputs: {name: array}, a list in input order, or one array.
        Arrays are converted to the bound dtype and made contiguous when needed.
        Returns the outputs as a list of numpy arrays (copies, safe to keep)."""
        if self._h is None:
            raise Error("e2e: session is closed")
        if isinstance(inputs, dict):
            items = list(inputs.items())
        else:
            if isinstance(inputs, np.ndarray):
                inputs = [inputs]
            items = [(self.inputs[i][0] if i < len(self.inputs) else None, a)
                     for i, a in enumerate(inputs)]
        bound = {n: dt for n, dt, _ in self.inputs}
        keep, views = [], (_View * max(len(items), 1))()
        for i, (name, a) in enumerate(items):
            a = np.asarray(a, dtype=bound.get(name), order="C")
            views[i] = _view_of(name, a, keep)
        err = _Error()
        _check(_lib.e2e_session_run(self._h, views, len(items), ctypes.byref(err)), err)
        outs = []
        for i in range(_lib.e2e_session_output_count(self._h)):
            v = _View()
            _lib.e2e_session_output(self._h, i, ctypes.byref(v))
            _, dt, shape = _decl(v)
            n = int(np.prod(shape, dtype=np.int64))
            if n == 0 or not v.data:
                outs.append(np.zeros(shape, dtype=dt))
                continue
            buf = (ctypes.c_char * (n * dt.itemsize)).from_address(v.data)
            outs.append(np.frombuffer(buf, dtype=dt).reshape(shape).copy())
        return outs

    def run_dict(self, inputs):
        """Like run(), as {output name: array}."""
        return dict(zip(self.output_names, self.run(inputs)))

    def close(self):
        if self._h:
            _lib.e2e_session_free(self._h)
            self._h = None
            self._model._sessions -= 1
            if self._model._closing:
                self._model.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()
