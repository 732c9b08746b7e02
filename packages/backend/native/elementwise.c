// Element-wise kernels of kernels.wasm: relu, relu_grad, add, and sum_buffers (the in-order sum of the
// filter gradients' per-thread partial buffers). See common.h for the rules.
#include "common.h"

// params: out, scratch, filterSize, buffers
EXPORT(sum_buffers)
void sum_buffers(const int32_t* p, int t, int threads) {
  f32* out = (f32*)(uintptr_t)p[0];
  const f32* scratch = (const f32*)(uintptr_t)p[1];
  const int size = p[2], buffers = p[3];
  ELEMENTWISE_SHARE(size);
  int i = begin;
  for (; i + 4 <= end; i += 4) {
    v acc = wasm_v128_load(out + i);
    for (int b = 0; b < buffers; b++) acc = wasm_f32x4_add(acc, wasm_v128_load(scratch + b * size + i));
    wasm_v128_store(out + i, acc);
  }
  for (; i < end; i++) {
    f32 acc = out[i];
    for (int b = 0; b < buffers; b++) acc += scratch[b * size + i];
    out[i] = acc;
  }
}

// for NaN, and the product keeps dy's NaN and infinities. params: dy, x, dx, size
EXPORT(relu_grad)
void relu_grad(const int32_t* p, int t, int threads) {
  const f32* dy = (const f32*)(uintptr_t)p[0];
  const f32* x = (const f32*)(uintptr_t)p[1];
  f32* dx = (f32*)(uintptr_t)p[2];
  ELEMENTWISE_SHARE(p[3]);
  const v zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f);
  int i = begin;
  for (; i + 4 <= end; i += 4) {
    const v xv = wasm_v128_load(x + i);
    v step = wasm_v128_bitselect(one, zero, wasm_f32x4_gt(xv, zero));
    step = wasm_v128_bitselect(xv, step, wasm_f32x4_ne(xv, xv));
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), step));
  }
  for (; i < end; i++) {
    const f32 xi = x[i];
    dx[i] = dy[i] * (xi > 0.0f ? 1.0f : xi != xi ? xi : 0.0f);
  }
}

// y = max(x, 0), NaN kept (as tfjs's Relu). params: x, y, size
EXPORT(relu)
void relu(const int32_t* p, int t, int threads) {
  const f32* x = (const f32*)(uintptr_t)p[0];
  f32* y = (f32*)(uintptr_t)p[1];
  ELEMENTWISE_SHARE(p[2]);
  const v zero = wasm_f32x4_splat(0.0f);
  int i = begin;
  for (; i + 4 <= end; i += 4) {
    const v xv = wasm_v128_load(x + i);
    // x < 0 ? 0 : x keeps NaN (the comparison is false for it), where max would depend on the operand order.
    wasm_v128_store(y + i, wasm_v128_andnot(xv, wasm_f32x4_lt(xv, zero)));
  }
  for (; i < end; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

// y = a + b, same shape. params: a, b, y, size
EXPORT(add)
void add(const int32_t* p, int t, int threads) {
  const f32* a = (const f32*)(uintptr_t)p[0];
  const f32* b = (const f32*)(uintptr_t)p[1];
  f32* y = (f32*)(uintptr_t)p[2];
  ELEMENTWISE_SHARE(p[3]);
  int i = begin;
  for (; i + 4 <= end; i += 4) wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  for (; i < end; i++) y[i] = a[i] + b[i];
}

