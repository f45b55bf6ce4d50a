// Compiled twice by run.sh (-DEMU_MARK=emu_shared_begin, -DEMU_MARK=emu_shared_end) and linked
// before and after the kernel objects: the linker lays out .bss file by file, so every
// __shared__ static of the kernels lies between the two marks (fake_driver.cpp poisons that range).
extern "C" {
__attribute__((aligned(64), used)) char EMU_MARK[64];
}
