/* Where the monitor puts things in guest-physical memory at boot. Low
 * memory below 1 MiB holds the boot structures; the kernel goes at 1 MiB,
 * the initramfs at the top of low RAM. */
#ifndef VMM_X86_LAYOUT_H
#define VMM_X86_LAYOUT_H

#define X86_GDT_ADDR       0x500ULL
#define X86_BOOT_INFO_ADDR 0x7000ULL /* boot_params (zero page) or hvm_start_info */
#define X86_PVH_MODLIST    0x6000ULL /* PVH: module list (the initramfs) */
#define X86_PVH_MEMMAP     0x6100ULL /* PVH: memory map, up to 32 entries */
#define X86_PML4_ADDR      0x9000ULL /* 64-bit boot: identity page tables */
#define X86_PDPT_ADDR      0xa000ULL
#define X86_PD_ADDR        0xb000ULL /* four pages: 4 GiB of 2 MiB pages */
#define X86_CMDLINE_ADDR   0x20000ULL
#define X86_CMDLINE_MAX    4096
#define X86_EBDA_START     0x9fc00ULL
#define X86_MPTABLE_ADDR   0xf0000ULL /* the BIOS area, one of the places Linux scans */
#define X86_EBDA_END       0xa0000ULL
#define X86_KERNEL_ADDR    0x100000ULL

#endif
