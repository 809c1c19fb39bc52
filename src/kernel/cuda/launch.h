#pragma once
// Launch helpers shared by the CUDA kernels: the device's multiprocessor count (grid sizing) and
// the error check after each launch.
namespace hifp8::cuda {

int sm_count();  // of the current device, read once
// Throws Error naming `kernel` if the last launch failed.
void check_launch(const char* kernel);

}  // namespace hifp8::cuda
