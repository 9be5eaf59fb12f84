//go:build amd64 && !purego

#include "textflag.h"

// func addRows4AVX2(v, w []float64, cols int, u *[4]float64)
//
// For j < len(v) (a multiple of 4): v[j] = v[j] + u[0]·w[j] + u[1]·w[cols+j]
// + u[2]·w[2·cols+j] + u[3]·w[3·cols+j], added left to right, every
// product rounded on its own (no fused multiply-adds), four columns at a
// time.
TEXT ·addRows4AVX2(SB), NOSPLIT, $0-64
	MOVQ         v_base+0(FP), DI
	MOVQ         v_len+8(FP), CX
	MOVQ         w_base+24(FP), SI
	MOVQ         cols+48(FP), DX
	SHLQ         $3, DX
	MOVQ         u+56(FP), AX
	VBROADCASTSD 0(AX), Y8
	VBROADCASTSD 8(AX), Y9
	VBROADCASTSD 16(AX), Y10
	VBROADCASTSD 24(AX), Y11
	LEAQ         (DX)(DX*2), BX
	SHRQ         $2, CX
	JZ           done

loop:
	VMOVUPD (DI), Y0
	VMULPD  (SI), Y8, Y1
	VADDPD  Y1, Y0, Y0
	VMULPD  (SI)(DX*1), Y9, Y2
	VADDPD  Y2, Y0, Y0
	VMULPD  (SI)(DX*2), Y10, Y3
	VADDPD  Y3, Y0, Y0
	VMULPD  (SI)(BX*1), Y11, Y4
	VADDPD  Y4, Y0, Y0
	VMOVUPD Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET
