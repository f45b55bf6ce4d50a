#pragma once
// One kernel the emulator can run: its name, parameter count and sizes (the driver copies the
// arguments at launch), and a function that unpacks cuLaunchKernel's void** into a call.
struct EmuKernel { const char* name; int params; void (*run)(void** p); const unsigned* sizes; };
extern const EmuKernel emu_kernels[];
