//go:build amd64 && !purego

#include "textflag.h"

// func selectMulAVX2(out, x, g []float64, pos, q float64, self bool)
//
// For i < len(out) rounded down to a multiple of 4: out[i] = g[i]·f with
// f = q (x[i] itself if self is set) where x[i] ≤ 0 and pos elsewhere
// (NaN included), g[i] the first operand of the product as in the
// compiled scalar loop.
TEXT ·selectMulAVX2(SB), NOSPLIT, $0-89
	MOVQ         out_base+0(FP), DI
	MOVQ         out_len+8(FP), CX
	MOVQ         x_base+24(FP), SI
	MOVQ         g_base+48(FP), DX
	VBROADCASTSD pos+72(FP), Y0
	VBROADCASTSD q+80(FP), Y1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y7, Y7, Y7
	CMPB         self+88(FP), $0
	JEQ          start
	VPCMPEQQ     Y7, Y7, Y7

start:
	SHRQ $2, CX
	JZ   done

loop:
	VMOVUPD   (SI), Y3
	VCMPPD    $2, Y2, Y3, Y4
	VBLENDVPD Y7, Y3, Y1, Y8
	VBLENDVPD Y4, Y8, Y0, Y5
	VMOVUPD   (DX), Y6
	VMULPD    Y5, Y6, Y6
	VMOVUPD   Y6, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DX
	ADDQ      $32, DI
	DECQ      CX
	JNZ       loop

done:
	VZEROUPPER
	RET
