//go:build amd64 && !purego

#include "textflag.h"

// func axpyRowsAVX2(m, n, k int, a *float64, ai, al int, b *float64, ldb int, c *float64, ldc int, acc bool)
//
// For each of the m rows i of c and each column j < n (n a multiple of 4):
// v = 0, then v = a[i·ai + l·al]·b[l·ldb + j] + v fused, for l = 0 … k−1
// in order; c[i·ldc + j] = c[i·ldc + j] + v if acc is set, else 0 + v
// (k ≥ 1, strides in elements). 32 columns at a time (eight sums in
// flight against the latency of the multiply-add), then four.
TEXT ·axpyRowsAVX2(SB), NOSPLIT, $0-81
	MOVQ   m+0(FP), R8
	MOVQ   k+16(FP), R10
	MOVQ   a+24(FP), R11
	MOVQ   ai+32(FP), R12
	SHLQ   $3, R12
	MOVQ   al+40(FP), R13
	SHLQ   $3, R13
	MOVQ   ldb+56(FP), R14
	SHLQ   $3, R14
	MOVQ   c+64(FP), DI
	VXORPD Y15, Y15, Y15
	TESTQ  R8, R8
	JZ     done

row:
	MOVQ n+8(FP), R9
	MOVQ b+48(FP), BX
	MOVQ DI, CX
	CMPQ R9, $32
	JLT  tail4

blk32:
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	MOVQ   R11, AX
	MOVQ   BX, SI
	MOVQ   R10, DX

l32:
	VBROADCASTSD (AX), Y8
	VFMADD231PD  0(SI), Y8, Y0
	VFMADD231PD  32(SI), Y8, Y1
	VFMADD231PD  64(SI), Y8, Y2
	VFMADD231PD  96(SI), Y8, Y3
	VFMADD231PD  128(SI), Y8, Y4
	VFMADD231PD  160(SI), Y8, Y5
	VFMADD231PD  192(SI), Y8, Y6
	VFMADD231PD  224(SI), Y8, Y7
	ADDQ         R13, AX
	ADDQ         R14, SI
	DECQ         DX
	JNZ          l32
	CMPB         acc+80(FP), $0
	JEQ          zero32
	VADDPD       0(CX), Y0, Y0
	VADDPD       32(CX), Y1, Y1
	VADDPD       64(CX), Y2, Y2
	VADDPD       96(CX), Y3, Y3
	VADDPD       128(CX), Y4, Y4
	VADDPD       160(CX), Y5, Y5
	VADDPD       192(CX), Y6, Y6
	VADDPD       224(CX), Y7, Y7
	JMP          store32

zero32:
	VADDPD Y15, Y0, Y0
	VADDPD Y15, Y1, Y1
	VADDPD Y15, Y2, Y2
	VADDPD Y15, Y3, Y3
	VADDPD Y15, Y4, Y4
	VADDPD Y15, Y5, Y5
	VADDPD Y15, Y6, Y6
	VADDPD Y15, Y7, Y7

store32:
	VMOVUPD Y0, 0(CX)
	VMOVUPD Y1, 32(CX)
	VMOVUPD Y2, 64(CX)
	VMOVUPD Y3, 96(CX)
	VMOVUPD Y4, 128(CX)
	VMOVUPD Y5, 160(CX)
	VMOVUPD Y6, 192(CX)
	VMOVUPD Y7, 224(CX)
	ADDQ    $256, BX
	ADDQ    $256, CX
	SUBQ    $32, R9
	CMPQ    R9, $32
	JGE     blk32

tail4:
	CMPQ R9, $4
	JLT  rowend

blk4:
	VXORPD Y0, Y0, Y0
	MOVQ   R11, AX
	MOVQ   BX, SI
	MOVQ   R10, DX

l4:
	VBROADCASTSD (AX), Y4
	VFMADD231PD  (SI), Y4, Y0
	ADDQ         R13, AX
	ADDQ         R14, SI
	DECQ         DX
	JNZ          l4
	CMPB         acc+80(FP), $0
	JEQ          zero4
	VADDPD       (CX), Y0, Y0
	JMP          store4

zero4:
	VADDPD Y15, Y0, Y0

store4:
	VMOVUPD Y0, (CX)
	ADDQ    $32, BX
	ADDQ    $32, CX
	SUBQ    $4, R9
	CMPQ    R9, $4
	JGE     blk4

rowend:
	ADDQ R12, R11
	MOVQ ldc+72(FP), AX
	SHLQ $3, AX
	ADDQ AX, DI
	DECQ R8
	JNZ  row

done:
	VZEROUPPER
	RET

// func axpyRows1AVX2(m, n, k int, a *float64, ai, al int, b *float64, ldb int, c *float64, ldc int, acc bool)
//
// axpyRowsAVX2 for k = 1, a's element of a row broadcast once per row.
TEXT ·axpyRows1AVX2(SB), NOSPLIT, $0-81
	MOVQ   m+0(FP), R8
	MOVQ   a+24(FP), R11
	MOVQ   ai+32(FP), R12
	SHLQ   $3, R12
	MOVQ   al+40(FP), R13
	SHLQ   $3, R13
	MOVQ   ldb+56(FP), R14
	SHLQ   $3, R14
	MOVQ   c+64(FP), DI
	MOVQ   ldc+72(FP), R10
	SHLQ   $3, R10
	MOVBQZX acc+80(FP), DX
	VXORPD Y15, Y15, Y15
	TESTQ  R8, R8
	JZ     done1

row1:
	VBROADCASTSD (R11), Y8
	MOVQ         n+8(FP), R9
	MOVQ         b+48(FP), BX
	LEAQ         (BX)(R14*1), SI
	MOVQ         DI, CX
	CMPQ         R9, $16
	JLT          tail1

blk16x1:
	VXORPD      Y0, Y0, Y0
	VXORPD      Y1, Y1, Y1
	VXORPD      Y2, Y2, Y2
	VXORPD      Y3, Y3, Y3
	VFMADD231PD 0(BX), Y8, Y0
	VFMADD231PD 32(BX), Y8, Y1
	VFMADD231PD 64(BX), Y8, Y2
	VFMADD231PD 96(BX), Y8, Y3
	TESTQ       DX, DX
	JZ          zero16x1
	VADDPD      0(CX), Y0, Y0
	VADDPD      32(CX), Y1, Y1
	VADDPD      64(CX), Y2, Y2
	VADDPD      96(CX), Y3, Y3
	JMP         store16x1

zero16x1:
	VADDPD Y15, Y0, Y0
	VADDPD Y15, Y1, Y1
	VADDPD Y15, Y2, Y2
	VADDPD Y15, Y3, Y3

store16x1:
	VMOVUPD Y0, 0(CX)
	VMOVUPD Y1, 32(CX)
	VMOVUPD Y2, 64(CX)
	VMOVUPD Y3, 96(CX)
	ADDQ    $128, BX
	ADDQ    $128, SI
	ADDQ    $128, CX
	SUBQ    $16, R9
	CMPQ    R9, $16
	JGE     blk16x1

tail1:
	CMPQ R9, $4
	JLT  rowend1

blk4x1:
	VXORPD      Y0, Y0, Y0
	VFMADD231PD (BX), Y8, Y0
	TESTQ       DX, DX
	JZ          zero4x1
	VADDPD      (CX), Y0, Y0
	JMP         store4x1

zero4x1:
	VADDPD Y15, Y0, Y0

store4x1:
	VMOVUPD Y0, (CX)
	ADDQ    $32, BX
	ADDQ    $32, SI
	ADDQ    $32, CX
	SUBQ    $4, R9
	CMPQ    R9, $4
	JGE     blk4x1

rowend1:
	ADDQ R12, R11
	ADDQ R10, DI
	DECQ R8
	JNZ  row1

done1:
	VZEROUPPER
	RET

// func axpyRows2AVX2(m, n, k int, a *float64, ai, al int, b *float64, ldb int, c *float64, ldc int, acc bool)
//
// axpyRowsAVX2 for k = 2, a's elements of a row broadcast once per row.
TEXT ·axpyRows2AVX2(SB), NOSPLIT, $0-81
	MOVQ   m+0(FP), R8
	MOVQ   a+24(FP), R11
	MOVQ   ai+32(FP), R12
	SHLQ   $3, R12
	MOVQ   al+40(FP), R13
	SHLQ   $3, R13
	MOVQ   ldb+56(FP), R14
	SHLQ   $3, R14
	MOVQ   c+64(FP), DI
	MOVQ   ldc+72(FP), R10
	SHLQ   $3, R10
	MOVBQZX acc+80(FP), DX
	VXORPD Y15, Y15, Y15
	TESTQ  R8, R8
	JZ     done2

row2:
	VBROADCASTSD (R11), Y8
	VBROADCASTSD (R11)(R13*1), Y9
	MOVQ         n+8(FP), R9
	MOVQ         b+48(FP), BX
	LEAQ         (BX)(R14*1), SI
	MOVQ         DI, CX
	CMPQ         R9, $16
	JLT          tail2

blk16x2:
	VXORPD      Y0, Y0, Y0
	VXORPD      Y1, Y1, Y1
	VXORPD      Y2, Y2, Y2
	VXORPD      Y3, Y3, Y3
	VFMADD231PD 0(BX), Y8, Y0
	VFMADD231PD 32(BX), Y8, Y1
	VFMADD231PD 64(BX), Y8, Y2
	VFMADD231PD 96(BX), Y8, Y3
	VFMADD231PD 0(SI), Y9, Y0
	VFMADD231PD 32(SI), Y9, Y1
	VFMADD231PD 64(SI), Y9, Y2
	VFMADD231PD 96(SI), Y9, Y3
	TESTQ       DX, DX
	JZ          zero16x2
	VADDPD      0(CX), Y0, Y0
	VADDPD      32(CX), Y1, Y1
	VADDPD      64(CX), Y2, Y2
	VADDPD      96(CX), Y3, Y3
	JMP         store16x2

zero16x2:
	VADDPD Y15, Y0, Y0
	VADDPD Y15, Y1, Y1
	VADDPD Y15, Y2, Y2
	VADDPD Y15, Y3, Y3

store16x2:
	VMOVUPD Y0, 0(CX)
	VMOVUPD Y1, 32(CX)
	VMOVUPD Y2, 64(CX)
	VMOVUPD Y3, 96(CX)
	ADDQ    $128, BX
	ADDQ    $128, SI
	ADDQ    $128, CX
	SUBQ    $16, R9
	CMPQ    R9, $16
	JGE     blk16x2

tail2:
	CMPQ R9, $4
	JLT  rowend2

blk4x2:
	VXORPD      Y0, Y0, Y0
	VFMADD231PD (BX), Y8, Y0
	VFMADD231PD (SI), Y9, Y0
	TESTQ       DX, DX
	JZ          zero4x2
	VADDPD      (CX), Y0, Y0
	JMP         store4x2

zero4x2:
	VADDPD Y15, Y0, Y0

store4x2:
	VMOVUPD Y0, (CX)
	ADDQ    $32, BX
	ADDQ    $32, SI
	ADDQ    $32, CX
	SUBQ    $4, R9
	CMPQ    R9, $4
	JGE     blk4x2

rowend2:
	ADDQ R12, R11
	ADDQ R10, DI
	DECQ R8
	JNZ  row2

done2:
	VZEROUPPER
	RET

// func dotRows1AVX2(m, k int, a *float64, lda int, b *float64, c *float64, acc bool)
//
// DotRows for n = 1: eight rows of a at a time (m a multiple of 8, k of 4),
// each block of 4×4 elements transposed so that four rows advance together.
TEXT ·dotRows1AVX2(SB), NOSPLIT, $0-49
	MOVQ   m+0(FP), R8
	MOVQ   a+16(FP), R9
	MOVQ   lda+24(FP), R10
	SHLQ   $3, R10
	MOVQ   b+32(FP), R11
	MOVQ   c+40(FP), DI
	MOVBQZX acc+48(FP), DX
	LEAQ   (R10)(R10*2), AX
	LEAQ   (R10*4), R12
	VXORPD Y15, Y15, Y15
	SHRQ   $3, R8
	JZ     done1

group1:
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	MOVQ   R9, SI
	LEAQ   (R9)(R12*1), R13
	MOVQ   R11, BX
	MOVQ   k+8(FP), CX

inner1:
	VMOVUPD    (SI), Y4
	VMOVUPD    (SI)(R10*1), Y5
	VMOVUPD    (SI)(R10*2), Y6
	VMOVUPD    (SI)(AX*1), Y7
	VUNPCKLPD  Y5, Y4, Y8
	VUNPCKHPD  Y5, Y4, Y9
	VUNPCKLPD  Y7, Y6, Y10
	VUNPCKHPD  Y7, Y6, Y11
	VPERM2F128 $0x20, Y10, Y8, Y4
	VPERM2F128 $0x20, Y11, Y9, Y5
	VPERM2F128 $0x31, Y10, Y8, Y6
	VPERM2F128 $0x31, Y11, Y9, Y7
	VBROADCASTSD 0(BX), Y12
	VFMADD231PD  Y12, Y4, Y0
	VBROADCASTSD 8(BX), Y12
	VFMADD231PD  Y12, Y5, Y0
	VBROADCASTSD 16(BX), Y12
	VFMADD231PD  Y12, Y6, Y0
	VBROADCASTSD 24(BX), Y12
	VFMADD231PD  Y12, Y7, Y0
	VMOVUPD    (R13), Y4
	VMOVUPD    (R13)(R10*1), Y5
	VMOVUPD    (R13)(R10*2), Y6
	VMOVUPD    (R13)(AX*1), Y7
	VUNPCKLPD  Y5, Y4, Y8
	VUNPCKHPD  Y5, Y4, Y9
	VUNPCKLPD  Y7, Y6, Y10
	VUNPCKHPD  Y7, Y6, Y11
	VPERM2F128 $0x20, Y10, Y8, Y4
	VPERM2F128 $0x20, Y11, Y9, Y5
	VPERM2F128 $0x31, Y10, Y8, Y6
	VPERM2F128 $0x31, Y11, Y9, Y7
	VBROADCASTSD 0(BX), Y12
	VFMADD231PD  Y12, Y4, Y1
	VBROADCASTSD 8(BX), Y12
	VFMADD231PD  Y12, Y5, Y1
	VBROADCASTSD 16(BX), Y12
	VFMADD231PD  Y12, Y6, Y1
	VBROADCASTSD 24(BX), Y12
	VFMADD231PD  Y12, Y7, Y1
	ADDQ $32, SI
	ADDQ $32, R13
	ADDQ $32, BX
	SUBQ $4, CX
	JNZ  inner1
	TESTQ DX, DX
	JZ    zero1
	VADDPD 0(DI), Y0, Y0
	VADDPD 32(DI), Y1, Y1
	JMP   store1

zero1:
	VADDPD Y15, Y0, Y0
	VADDPD Y15, Y1, Y1

store1:
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	ADDQ $64, DI
	LEAQ (R9)(R12*2), R9
	DECQ R8
	JNZ  group1

done1:
	VZEROUPPER
	RET

// func dotRows2AVX2(m, k int, a *float64, lda int, b *float64, c *float64, acc bool)
//
// DotRows for n = 2: eight rows of a at a time (m a multiple of 8, k of 4),
// each block of 4×4 elements transposed so that four rows advance together.
TEXT ·dotRows2AVX2(SB), NOSPLIT, $0-49
	MOVQ   m+0(FP), R8
	MOVQ   a+16(FP), R9
	MOVQ   lda+24(FP), R10
	SHLQ   $3, R10
	MOVQ   b+32(FP), R11
	MOVQ   c+40(FP), DI
	MOVBQZX acc+48(FP), DX
	LEAQ   (R10)(R10*2), AX
	LEAQ   (R10*4), R12
	VXORPD Y15, Y15, Y15
	SHRQ   $3, R8
	JZ     done2

group2:
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	MOVQ   R9, SI
	LEAQ   (R9)(R12*1), R13
	MOVQ   R11, BX
	MOVQ   k+8(FP), CX

inner2:
	VMOVUPD    (SI), Y4
	VMOVUPD    (SI)(R10*1), Y5
	VMOVUPD    (SI)(R10*2), Y6
	VMOVUPD    (SI)(AX*1), Y7
	VUNPCKLPD  Y5, Y4, Y8
	VUNPCKHPD  Y5, Y4, Y9
	VUNPCKLPD  Y7, Y6, Y10
	VUNPCKHPD  Y7, Y6, Y11
	VPERM2F128 $0x20, Y10, Y8, Y4
	VPERM2F128 $0x20, Y11, Y9, Y5
	VPERM2F128 $0x31, Y10, Y8, Y6
	VPERM2F128 $0x31, Y11, Y9, Y7
	VBROADCASTSD 0(BX), Y12
	VBROADCASTSD 8(BX), Y13
	VFMADD231PD  Y12, Y4, Y0
	VFMADD231PD  Y13, Y4, Y1
	VBROADCASTSD 16(BX), Y12
	VBROADCASTSD 24(BX), Y13
	VFMADD231PD  Y12, Y5, Y0
	VFMADD231PD  Y13, Y5, Y1
	VBROADCASTSD 32(BX), Y12
	VBROADCASTSD 40(BX), Y13
	VFMADD231PD  Y12, Y6, Y0
	VFMADD231PD  Y13, Y6, Y1
	VBROADCASTSD 48(BX), Y12
	VBROADCASTSD 56(BX), Y13
	VFMADD231PD  Y12, Y7, Y0
	VFMADD231PD  Y13, Y7, Y1
	VMOVUPD    (R13), Y4
	VMOVUPD    (R13)(R10*1), Y5
	VMOVUPD    (R13)(R10*2), Y6
	VMOVUPD    (R13)(AX*1), Y7
	VUNPCKLPD  Y5, Y4, Y8
	VUNPCKHPD  Y5, Y4, Y9
	VUNPCKLPD  Y7, Y6, Y10
	VUNPCKHPD  Y7, Y6, Y11
	VPERM2F128 $0x20, Y10, Y8, Y4
	VPERM2F128 $0x20, Y11, Y9, Y5
	VPERM2F128 $0x31, Y10, Y8, Y6
	VPERM2F128 $0x31, Y11, Y9, Y7
	VBROADCASTSD 0(BX), Y12
	VBROADCASTSD 8(BX), Y13
	VFMADD231PD  Y12, Y4, Y2
	VFMADD231PD  Y13, Y4, Y3
	VBROADCASTSD 16(BX), Y12
	VBROADCASTSD 24(BX), Y13
	VFMADD231PD  Y12, Y5, Y2
	VFMADD231PD  Y13, Y5, Y3
	VBROADCASTSD 32(BX), Y12
	VBROADCASTSD 40(BX), Y13
	VFMADD231PD  Y12, Y6, Y2
	VFMADD231PD  Y13, Y6, Y3
	VBROADCASTSD 48(BX), Y12
	VBROADCASTSD 56(BX), Y13
	VFMADD231PD  Y12, Y7, Y2
	VFMADD231PD  Y13, Y7, Y3
	ADDQ $32, SI
	ADDQ $32, R13
	ADDQ $64, BX
	SUBQ $4, CX
	JNZ  inner2
	VUNPCKLPD  Y1, Y0, Y8
	VUNPCKHPD  Y1, Y0, Y9
	VPERM2F128 $0x20, Y9, Y8, Y0
	VPERM2F128 $0x31, Y9, Y8, Y1
	VUNPCKLPD  Y3, Y2, Y8
	VUNPCKHPD  Y3, Y2, Y9
	VPERM2F128 $0x20, Y9, Y8, Y2
	VPERM2F128 $0x31, Y9, Y8, Y3
	TESTQ DX, DX
	JZ    zero2
	VADDPD 0(DI), Y0, Y0
	VADDPD 32(DI), Y1, Y1
	VADDPD 64(DI), Y2, Y2
	VADDPD 96(DI), Y3, Y3
	JMP   store2

zero2:
	VADDPD Y15, Y0, Y0
	VADDPD Y15, Y1, Y1
	VADDPD Y15, Y2, Y2
	VADDPD Y15, Y3, Y3

store2:
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	ADDQ $128, DI
	LEAQ (R9)(R12*2), R9
	DECQ R8
	JNZ  group2

done2:
	VZEROUPPER
	RET
