/*
 * Cortex-M7 start-up: the vector table and the reset handler. The handler turns the FPU
 * on (the C and C++ code is compiled for hard float, so this comes before any of it runs),
 * then hands over to kite_fw_start (startup.c) for the memory set-up and main.
 */
  .syntax unified
  .cpu cortex-m7
  .thumb

  .section .isr_vector, "a", %progbits
  .balign 4
  .global kite_fw_vectors
kite_fw_vectors:
  .word _estack            /* initial main stack pointer (top of RAM's stack block) */
  .word Reset_Handler
  .word kite_fw_fault      /* NMI */
  .word kite_fw_fault      /* HardFault */
  .word kite_fw_fault      /* MemManage */
  .word kite_fw_fault      /* BusFault */
  .word kite_fw_fault      /* UsageFault */
  .word 0, 0, 0, 0         /* reserved */
  .word kite_fw_fault      /* SVCall */
  .word kite_fw_fault      /* DebugMonitor */
  .word 0                  /* reserved */
  .word kite_fw_fault      /* PendSV */
  .word kite_fw_fault      /* SysTick */

  .text
  .thumb_func
  .global Reset_Handler
  .type Reset_Handler, %function
Reset_Handler:
  ldr r0, =0xE000ED88      /* SCB->CPACR */
  ldr r1, [r0]
  orr r1, r1, #(0xF << 20) /* full access to CP10 and CP11 */
  str r1, [r0]
  dsb
  isb
  b kite_fw_start
  .size Reset_Handler, . - Reset_Handler
