/*
 * Arm semihosting, the debug channel QEMU (and debug probes) offer to bare-metal code:
 * the program traps with BKPT 0xAB and the host performs the request. Used here for the
 * console and for exiting with a status. Without a debugger or emulator attached, BKPT
 * faults: real firmware would print to a UART instead.
 */
#ifndef KITE_FIRMWARE_SEMIHOSTING_H_
#define KITE_FIRMWARE_SEMIHOSTING_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Writes a NUL-terminated string to the host's console (SYS_WRITE0). */
void semihosting_write(const char* text);

/** Writes `text`, then the unsigned decimal `value`, then `suffix`. No printf needed. */
void semihosting_write_u32(const char* text, uint32_t value, const char* suffix);

/** Ends the program with `status` as the emulator's exit code (SYS_EXIT_EXTENDED). */
void semihosting_exit(int status) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif /* KITE_FIRMWARE_SEMIHOSTING_H_ */
