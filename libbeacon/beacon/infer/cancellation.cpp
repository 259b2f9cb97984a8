#include <beacon/infer/cancellation.hpp>

namespace beacon::infer {

void Cancellation::cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  // Move the hook out first: it may install another or destroy what it captured.
  auto hook = std::move(hook_);
  hook_ = nullptr;
  if (hook) hook();
}

}  // namespace beacon::infer
