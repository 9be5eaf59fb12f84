//go:build amd64 && !purego

#include "textflag.h"

// func adamAVX2(p, g, m, v []float64, h *adamConsts)
//
// Adam.Step's update, four values at a time, for len(p) rounded down to a
// multiple of 4, each operation rounded as the scalar loop's (no fused
// multiply-adds):
//
//	m = m·β1 + (1−β1)·g
//	v = v·β2 + ((1−β2)·g)·g
//	p = p − (stepSize·m) / (√v / bc2 + eps)
TEXT ·adamAVX2(SB), NOSPLIT, $0-104
	MOVQ         p_base+0(FP), DI
	MOVQ         p_len+8(FP), CX
	MOVQ         g_base+24(FP), SI
	MOVQ         m_base+48(FP), R8
	MOVQ         v_base+72(FP), R9
	MOVQ         h+96(FP), AX
	VBROADCASTSD 0(AX), Y8
	VBROADCASTSD 8(AX), Y9
	VBROADCASTSD 16(AX), Y10
	VBROADCASTSD 24(AX), Y11
	VBROADCASTSD 32(AX), Y12
	VBROADCASTSD 40(AX), Y13
	VBROADCASTSD 48(AX), Y14
	SHRQ         $2, CX
	JZ           done

loop:
	VMOVUPD (SI), Y0
	VMOVUPD (R8), Y1
	VMULPD  Y8, Y1, Y1
	VMULPD  Y0, Y9, Y2
	VADDPD  Y2, Y1, Y1
	VMOVUPD Y1, (R8)
	VMOVUPD (R9), Y3
	VMULPD  Y10, Y3, Y3
	VMULPD  Y0, Y11, Y4
	VMULPD  Y0, Y4, Y4
	VADDPD  Y4, Y3, Y3
	VMOVUPD Y3, (R9)
	VSQRTPD Y3, Y5
	VDIVPD  Y13, Y5, Y5
	VADDPD  Y14, Y5, Y5
	VMULPD  Y1, Y12, Y6
	VDIVPD  Y5, Y6, Y6
	VMOVUPD (DI), Y7
	VSUBPD  Y6, Y7, Y7
	VMOVUPD Y7, (DI)
	ADDQ    $32, SI
	ADDQ    $32, R8
	ADDQ    $32, R9
	ADDQ    $32, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET
