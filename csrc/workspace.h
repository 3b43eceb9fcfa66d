// The workspace a plan allocates for its backends: uninitialised tensors on the
// input's device (the caching allocator there on CUDA), kept alive by the plan and
// handed to the kernels as raw pointers in the op's Params.
#pragma once

#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/core/ScalarType.h>

namespace torch_render {

class Workspace {
 public:
  // A new [shape] buffer of T on the device of `like`.
  template <typename T>
  T* add(at::IntArrayRef shape, const at::Tensor& like) {
    tensors_.push_back(at::empty(shape, like.options().dtype(c10::CppTypeToScalarType<T>::value)));
    return tensors_.back().template mutable_data_ptr<T>();
  }

 private:
  std::vector<at::Tensor> tensors_;
};

}  // namespace torch_render
