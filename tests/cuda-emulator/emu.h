#pragma once
struct EmuKernel { const char* name; int params; void (*run)(void** p); };
extern const EmuKernel emu_kernels[];
