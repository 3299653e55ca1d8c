// The per-call host work of tle.ops.sparse_mla_fwd's cached launch, in one C call.
//
// From Python, reading a call's signature (about 25 tensor attribute calls) and allocating the
// three outputs cost more than FlashMLA's whole C++ entry point; here they cost about a
// microsecond. Built on first use against the installed torch (torch_ext/__init__.py), like
// Triton's own launcher stubs; without a compiler the op keeps its Python path.
//
// prepare(q, kv, indices, attn_sink, topk_length, d_v) returns
//     (signature: bytes, out, max_logits, lse, pointers: 8-tuple)
// or None where the call is not the plain case (a tensor subclass, an input that requires grad
// with grad mode on, a negative or conjugate view, a tensor without strides, d_v outside
// (0, d_qk], any error): the Python path then decides, with its precise messages. The
// signature holds everything of the inputs a compiled launch depends on (rank, sizes, strides,
// dtype, device, 16-byte alignment of each pointer, which optional inputs are present), so two
// calls with equal signatures can share one launch. Nothing here reads device memory.
#include <Python.h>

#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>
#include <torch/csrc/autograd/python_variable.h>

#include <cstdint>
#include <vector>

namespace {

constexpr int64_t kAbsent = -1;

// nullptr: not a plain tensor (the call declines).
const at::Tensor* plain_tensor(PyObject* obj) {
  if (!THPVariable_CheckExact(obj)) return nullptr;
  return &THPVariable_Unpack(obj);
}

// Appends one input's part of the signature. False: the call declines.
bool describe(const at::Tensor& t, std::vector<int64_t>& sig) {
  if (t.layout() != at::kStrided || t.is_neg() || t.is_conj()) return false;
  const int64_t dim = t.dim();
  sig.push_back(dim);
  for (int64_t size : t.sizes()) sig.push_back(size);
  for (int64_t stride : t.strides()) sig.push_back(stride);
  sig.push_back(static_cast<int64_t>(t.scalar_type()));
  sig.push_back(static_cast<int64_t>(t.device().type()));
  sig.push_back(t.device().index());
  sig.push_back(static_cast<int64_t>(reinterpret_cast<uintptr_t>(t.data_ptr()) & 15));
  return true;
}

PyObject* pointer(const at::Tensor& t) {
  return PyLong_FromUnsignedLongLong(reinterpret_cast<uintptr_t>(t.data_ptr()));
}

PyObject* decline() { Py_RETURN_NONE; }

PyObject* prepare_impl(PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 6 || !PyLong_CheckExact(args[5])) return decline();
  int overflow = 0;
  const long long d_v = PyLong_AsLongLongAndOverflow(args[5], &overflow);
  if (overflow || (d_v == -1 && PyErr_Occurred())) {
    PyErr_Clear();
    return decline();
  }
  const at::Tensor* q = plain_tensor(args[0]);
  const at::Tensor* kv = plain_tensor(args[1]);
  const at::Tensor* indices = plain_tensor(args[2]);
  if (!q || !kv || !indices) return decline();
  const at::Tensor* optional[2] = {nullptr, nullptr};  // attn_sink, topk_length
  for (int i = 0; i < 2; ++i) {
    PyObject* obj = args[3 + i];
    if (obj == Py_None) continue;
    optional[i] = plain_tensor(obj);
    if (!optional[i]) return decline();
  }
  const at::Tensor* sink = optional[0];
  if (at::GradMode::is_enabled() &&
      (q->requires_grad() || kv->requires_grad() || (sink && sink->requires_grad())))
    return decline();  // the Python path raises its "no backward" error
  // The outputs are never larger than q (d_v <= d_qk): an invalid call allocates nothing big
  // before the Python path rejects it.
  if (q->dim() < 1 || d_v <= 0 || d_v > q->size(-1)) return decline();

  std::vector<int64_t> sig;
  sig.reserve(64);
  if (!describe(*q, sig) || !describe(*kv, sig) || !describe(*indices, sig)) return decline();
  for (const at::Tensor* t : optional) {
    if (!t) {
      sig.push_back(kAbsent);
    } else if (!describe(*t, sig)) {
      return decline();
    }
  }

  std::vector<int64_t> lead(q->sizes().begin(), q->sizes().end() - 1);
  std::vector<int64_t> out_shape(lead);
  out_shape.push_back(d_v);
  const auto options = at::TensorOptions().dtype(q->scalar_type()).device(q->device());
  at::Tensor out = at::empty(out_shape, options);
  at::Tensor max_logits = at::empty(lead, options.dtype(at::kFloat));
  at::Tensor lse = at::empty(lead, options.dtype(at::kFloat));

  PyObject* pointers = PyTuple_New(8);
  if (!pointers) return nullptr;
  const at::Tensor* by_position[8] = {q, kv, indices, optional[0], optional[1], &out, &max_logits, &lse};
  for (int i = 0; i < 8; ++i) {
    PyObject* p;
    if (by_position[i]) {
      p = pointer(*by_position[i]);
    } else {
      Py_INCREF(Py_None);
      p = Py_None;
    }
    if (!p) {
      Py_DECREF(pointers);
      return nullptr;
    }
    PyTuple_SET_ITEM(pointers, i, p);
  }
  PyObject* signature = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(sig.data()),
                                                  static_cast<Py_ssize_t>(sig.size() * sizeof(int64_t)));
  PyObject* result = PyTuple_New(5);
  PyObject* wrapped[3] = {THPVariable_Wrap(std::move(out)), THPVariable_Wrap(std::move(max_logits)),
                          THPVariable_Wrap(std::move(lse))};
  if (!signature || !result || !wrapped[0] || !wrapped[1] || !wrapped[2]) {
    Py_XDECREF(signature);
    Py_XDECREF(result);
    for (PyObject* w : wrapped) Py_XDECREF(w);
    Py_DECREF(pointers);
    return nullptr;
  }
  PyTuple_SET_ITEM(result, 0, signature);
  for (int i = 0; i < 3; ++i) PyTuple_SET_ITEM(result, 1 + i, wrapped[i]);
  PyTuple_SET_ITEM(result, 4, pointers);
  return result;
}

PyObject* prepare(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  try {
    return prepare_impl(args, nargs);
  } catch (const std::exception&) {  // c10::Error and allocation failures: decline, never raise
    PyErr_Clear();
    return decline();
  }
}

PyMethodDef methods[] = {
    {"prepare", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)(void)>(prepare)), METH_FASTCALL,
     "prepare(q, kv, indices, attn_sink, topk_length, d_v) -> (signature, out, max_logits, lse, pointers) | None"},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module = {PyModuleDef_HEAD_INIT, "_sparse_mla_entry", nullptr, -1, methods};

}  // namespace

PyMODINIT_FUNC PyInit__sparse_mla_entry() { return PyModule_Create(&module); }
