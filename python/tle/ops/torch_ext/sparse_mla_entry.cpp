// The per-call host work of tle.ops.sparse_mla_fwd's cached launch, in one C call.
//
// From Python, reading a call's signature (about 25 tensor attribute calls) and allocating the
// three outputs cost more than FlashMLA's whole C++ entry point; here they cost about a
// microsecond. Built on first use against the installed torch (torch_ext/__init__.py), like
// Triton's own launcher stubs; without a compiler the op keeps its Python path.
//
// prepare(q, kv, indices, attn_sink, topk_length, d_v) returns
//     (signature: bytes, out, max_logits, lse, pointers: 8-tuple)
// or None where the call is not the plain case: a tensor subclass; an input that requires grad
// with grad mode on; a tensor the dispatcher would first materialize or unwrap (negative or
// conjugate view, zero tensor, functional or Python-dispatched tensor, nested); one without
// strides or without data; d_v outside (0, d_qk]; any other error. The caller then goes through
// the dispatcher, which deals with those and raises the precise messages. An allocation that
// runs out of memory raises torch.OutOfMemoryError as torch.empty would.
//
// The signature holds everything of the inputs a compiled launch depends on (rank, sizes,
// strides, dtype, device, whether each pointer is 16-byte aligned, which optional inputs are
// present), so two calls with equal signatures can share one launch. Nothing here reads device
// memory.
#include <Python.h>

#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>
#include <c10/core/DispatchKey.h>
#include <c10/util/Exception.h>
#include <torch/csrc/Exceptions.h>
#include <torch/csrc/autograd/python_variable.h>
#include <torch/csrc/utils/object_ptr.h>

#include <cstdint>
#include <vector>

namespace {

constexpr int64_t kAbsent = -1;

// nullptr: not a plain tensor (the call declines).
const at::Tensor* plain_tensor(PyObject* obj) {
  if (!THPVariable_CheckExact(obj)) return nullptr;
  return &THPVariable_Unpack(obj);
}

// A tensor whose data the kernel can read as it is (what the dispatcher would hand the op).
bool plain_data(const at::Tensor& t) {
  const c10::DispatchKeySet keys = t.key_set();
  if (t.layout() != at::kStrided || t.is_nested() || t.is_neg() || t.is_conj() ||
      keys.has(c10::DispatchKey::ZeroTensor) || keys.has(c10::DispatchKey::Functionalize) ||
      keys.has(c10::DispatchKey::Python))
    return false;
  return t.numel() == 0 || t.data_ptr() != nullptr;
}

// Appends one input's part of the signature. False: the call declines.
bool describe(const at::Tensor& t, std::vector<int64_t>& sig) {
  if (!plain_data(t)) return false;
  const int64_t dim = t.dim();
  sig.push_back(dim);
  for (int64_t size : t.sizes()) sig.push_back(size);
  for (int64_t stride : t.strides()) sig.push_back(stride);
  sig.push_back(static_cast<int64_t>(t.scalar_type()));
  sig.push_back(static_cast<int64_t>(t.device().type()));
  sig.push_back(t.device().index());
  // Triton specializes a pointer on 16-byte alignment only, so that is all the key keeps
  sig.push_back((reinterpret_cast<uintptr_t>(t.data_ptr()) & 15) != 0);
  return true;
}

PyObject* pointer(const at::Tensor& t) {
  return PyLong_FromUnsignedLongLong(reinterpret_cast<uintptr_t>(t.data_ptr()));
}

PyObject* decline() { Py_RETURN_NONE; }

// Lets other Python threads run while ATen allocates (a cache miss of the CUDA allocator calls
// cudaMalloc, an out-of-memory retry synchronizes), as torch.empty does.
struct GilRelease {
  PyThreadState* state = PyEval_SaveThread();
  ~GilRelease() { PyEval_RestoreThread(state); }
};

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
  // The outputs never have more elements than q (d_v <= d_qk): a call that validation rejects
  // later allocated no more than a valid call of its shape would.
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
  at::Tensor out, max_logits, lse;
  {
    GilRelease released;
    out = at::empty(out_shape, options);
    max_logits = at::empty(lead, options.dtype(at::kFloat));
    lse = at::empty(lead, options.dtype(at::kFloat));
  }
  const at::Tensor* by_position[8] = {q, kv, indices, optional[0], optional[1], &out, &max_logits, &lse};
  THPObjectPtr pointers(PyTuple_New(8));
  if (!pointers) return nullptr;
  for (int i = 0; i < 8; ++i) {
    PyObject* p = by_position[i] ? pointer(*by_position[i]) : (Py_INCREF(Py_None), Py_None);
    if (!p) return nullptr;
    PyTuple_SET_ITEM(pointers.get(), i, p);
  }
  THPObjectPtr signature(PyBytes_FromStringAndSize(reinterpret_cast<const char*>(sig.data()),
                                                   static_cast<Py_ssize_t>(sig.size() * sizeof(int64_t))));
  if (!signature) return nullptr;
  // each owned as soon as it exists: a wrap that throws leaks nothing
  THPObjectPtr wrapped_out(THPVariable_Wrap(std::move(out)));
  if (!wrapped_out) return nullptr;
  THPObjectPtr wrapped_max(THPVariable_Wrap(std::move(max_logits)));
  if (!wrapped_max) return nullptr;
  THPObjectPtr wrapped_lse(THPVariable_Wrap(std::move(lse)));
  if (!wrapped_lse) return nullptr;
  return PyTuple_Pack(5, signature.get(), wrapped_out.get(), wrapped_max.get(), wrapped_lse.get(), pointers.get());
}

PyObject* prepare(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  try {
    return prepare_impl(args, nargs);
  } catch (const c10::OutOfMemoryError&) {  // as torch.empty raises it (and counted once)
    torch::translate_exception_to_python(std::current_exception());
    return nullptr;
  } catch (const std::exception&) {  // anything else: decline, the dispatcher's path decides
    PyErr_Clear();
    return decline();
  } catch (...) {
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
