;; WebAssembly SIMD (f64x2) matrix products for the engine, bit-identical to the TypeScript
;; kernels of src/engine/linalg.ts: every output element receives the same float64 products
;; added in the same order (no fused multiply-add, no reassociation). The speed comes from
;; 4 x 4 register tiles (8 f64x2 accumulators), packed operands and cache blocking, not from a
;; different summation.
;;
;; Packed operands. The tiled kernels read both operands from "panels" in which the four
;; values one step k of a register tile needs sit next to each other, so every load is
;; sequential with a constant offset (row-major operands with power-of-two row lengths made
;; each k touch another page and cache set: 14 instead of 21 GFLOP/s at 16 x 2048 x 256):
;;   row panel of X (R x C):    P[r/4][c][r%4] = X[r][c]   (pack_rows4)
;;   column panel of X (R x C): P[c/4][r][c%4] = X[r][c]   (pack_cols4)
;; When R (rows) or C (columns) is not a multiple of 4 the caller zero-fills the last group.
;;
;; The caller (wasmGemm.ts) pads M and N to multiples of 4 (zero rows/columns, results
;; discarded), so there is no edge code here. Addresses are in bytes.
;; Assembled by assemble.mjs (wabt) into gemmWasm.ts. If linalg.ts's kernels change their
;; summation order, test/unit/kernels.test.ts fails until this file mirrors the change.
(module
  (import "env" "memory" (memory 1))  ;; made by the caller (wasmModule.ts reservedMemory)

  ;; linalg.ts's gemmAB / gemmAtB, element by element: one running sum per element,
  ;;   C[i][j] = (((C[i][j] + A(i,0)B[0][j]) + A(i,1)B[1][j]) + ...) + A(i,K-1)B[K-1][j]
  ;; A 4 x 4 tile of C lives in 8 f64x2 registers (lanes: two columns) for the whole k loop;
  ;; per k, two loads of B's panel and four splats of A's: 11 live vectors, within x64's 16.
  ;; A is a row panel (M x K) and B a column panel (K x N) of a matrix with kt columns
  ;; (A) / rows (B) in all: tile i of A starts at a + 8*i*kt, strip j of B at b + 8*j*kt, and
  ;; a and b point at the first k of this call. C is M x N with rows ldc apart. The caller
  ;; blocks over k and i (cache blocking, see wasmGemm.ts): blocks of k processed in
  ;; increasing order leave every element's sum unchanged, as C is stored and reloaded exactly.
  (func (export "gemm_acc")
    (param $M i32) (param $N i32) (param $K i32) (param $kt i32)
    (param $a i32) (param $b i32) (param $c i32) (param $ldc i32)
    (local $i i32) (local $j i32) (local $k i32) (local $rowc i32) (local $tile i32)
    (local $pa i32) (local $pb i32) (local $pc0 i32) (local $pc1 i32) (local $pc2 i32) (local $pc3 i32)
    (local $b0 v128) (local $b1 v128) (local $s v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $rowc (i32.shl (local.get $ldc) (i32.const 3)))
    (local.set $tile (i32.shl (local.get $kt) (i32.const 3)))
    ;; Column strips outside, row tiles inside: the strip of B stays in L1 while every row
    ;; tile uses it (B is the large operand when M is small).
    (local.set $j (i32.const 0))
    (block $cols_done
      (loop $cols
        (br_if $cols_done (i32.ge_u (local.get $j) (local.get $N)))
        (local.set $i (i32.const 0))
        (block $rows_done
          (loop $rows
            (br_if $rows_done (i32.ge_u (local.get $i) (local.get $M)))
            (local.set $pc0 (i32.add (local.get $c)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldc)) (local.get $j)) (i32.const 3))))
            (local.set $pc1 (i32.add (local.get $pc0) (local.get $rowc)))
            (local.set $pc2 (i32.add (local.get $pc1) (local.get $rowc)))
            (local.set $pc3 (i32.add (local.get $pc2) (local.get $rowc)))
            (local.set $c00 (v128.load (local.get $pc0)))
            (local.set $c01 (v128.load offset=16 (local.get $pc0)))
            (local.set $c10 (v128.load (local.get $pc1)))
            (local.set $c11 (v128.load offset=16 (local.get $pc1)))
            (local.set $c20 (v128.load (local.get $pc2)))
            (local.set $c21 (v128.load offset=16 (local.get $pc2)))
            (local.set $c30 (v128.load (local.get $pc3)))
            (local.set $c31 (v128.load offset=16 (local.get $pc3)))
            (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $tile))))
            (local.set $pb (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $tile))))
            ;; Bottom-tested, ending when pa reaches its end: fewer loop instructions per k.
            (local.set $k (i32.add (local.get $pa) (i32.shl (local.get $K) (i32.const 5))))
            (if (local.get $K)
              (then
              (loop $ks
                (local.set $b0 (v128.load (local.get $pb)))
                (local.set $b1 (v128.load offset=16 (local.get $pb)))
                (local.set $s (v128.load64_splat (local.get $pa)))
                (local.set $c00 (f64x2.add (local.get $c00) (f64x2.mul (local.get $s) (local.get $b0))))
                (local.set $c01 (f64x2.add (local.get $c01) (f64x2.mul (local.get $s) (local.get $b1))))
                (local.set $s (v128.load64_splat offset=8 (local.get $pa)))
                (local.set $c10 (f64x2.add (local.get $c10) (f64x2.mul (local.get $s) (local.get $b0))))
                (local.set $c11 (f64x2.add (local.get $c11) (f64x2.mul (local.get $s) (local.get $b1))))
                (local.set $s (v128.load64_splat offset=16 (local.get $pa)))
                (local.set $c20 (f64x2.add (local.get $c20) (f64x2.mul (local.get $s) (local.get $b0))))
                (local.set $c21 (f64x2.add (local.get $c21) (f64x2.mul (local.get $s) (local.get $b1))))
                (local.set $s (v128.load64_splat offset=24 (local.get $pa)))
                (local.set $c30 (f64x2.add (local.get $c30) (f64x2.mul (local.get $s) (local.get $b0))))
                (local.set $c31 (f64x2.add (local.get $c31) (f64x2.mul (local.get $s) (local.get $b1))))
                (local.set $pa (i32.add (local.get $pa) (i32.const 32)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
                (br_if $ks (i32.ne (local.get $pa) (local.get $k))))))
            (v128.store (local.get $pc0) (local.get $c00))
            (v128.store offset=16 (local.get $pc0) (local.get $c01))
            (v128.store (local.get $pc1) (local.get $c10))
            (v128.store offset=16 (local.get $pc1) (local.get $c11))
            (v128.store (local.get $pc2) (local.get $c20))
            (v128.store offset=16 (local.get $pc2) (local.get $c21))
            (v128.store (local.get $pc3) (local.get $c30))
            (v128.store offset=16 (local.get $pc3) (local.get $c31))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $rows)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $cols))))

  ;; Row panel of X (R x C, rows ld doubles apart) at dst: P[r/4][c][r%4] = X[r][c].
  (func (export "pack_rows4")
    (param $src i32) (param $R i32) (param $C i32) (param $ld i32) (param $dst i32)
    (local $r i32) (local $c i32) (local $ps i32) (local $pd i32)
    (local.set $r (i32.const 0))
    (block $r_done
      (loop $rs
        (br_if $r_done (i32.ge_u (local.get $r) (local.get $R)))
        (local.set $ps (i32.add (local.get $src) (i32.shl (i32.mul (local.get $r) (local.get $ld)) (i32.const 3))))
        (local.set $pd (i32.add (local.get $dst) (i32.shl
          (i32.add (i32.shl (i32.mul (i32.shr_u (local.get $r) (i32.const 2)) (local.get $C)) (i32.const 2))
                   (i32.and (local.get $r) (i32.const 3))) (i32.const 3))))
        (local.set $c (local.get $C))
        (block $c_done
          (loop $cs
            (br_if $c_done (i32.eqz (local.get $c)))
            (f64.store (local.get $pd) (f64.load (local.get $ps)))
            (local.set $ps (i32.add (local.get $ps) (i32.const 8)))
            (local.set $pd (i32.add (local.get $pd) (i32.const 32)))
            (local.set $c (i32.sub (local.get $c) (i32.const 1)))
            (br $cs)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rs))))

  ;; Column panel of X (R x C, rows ld doubles apart) at dst: P[c/4][r][c%4] = X[r][c].
  (func (export "pack_cols4")
    (param $src i32) (param $R i32) (param $C i32) (param $ld i32) (param $dst i32)
    (local $r i32) (local $c i32) (local $ps i32) (local $pd i32) (local $strip i32)
    (local.set $strip (i32.shl (local.get $R) (i32.const 5)))
    (local.set $r (i32.const 0))
    (block $r_done
      (loop $rs
        (br_if $r_done (i32.ge_u (local.get $r) (local.get $R)))
        (local.set $ps (i32.add (local.get $src) (i32.shl (i32.mul (local.get $r) (local.get $ld)) (i32.const 3))))
        (local.set $pd (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 5))))
        (local.set $c (i32.const 0))
        (block $c4_done
          (loop $c4
            (br_if $c4_done (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $C)))
            (v128.store (local.get $pd) (v128.load (local.get $ps)))
            (v128.store offset=16 (local.get $pd) (v128.load offset=16 (local.get $ps)))
            (local.set $ps (i32.add (local.get $ps) (i32.const 32)))
            (local.set $pd (i32.add (local.get $pd) (local.get $strip)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $c4)))
        (block $c_done
          (loop $cs
            (br_if $c_done (i32.ge_u (local.get $c) (local.get $C)))
            (f64.store (local.get $pd) (f64.load (local.get $ps)))
            (local.set $ps (i32.add (local.get $ps) (i32.const 8)))
            (local.set $pd (i32.add (local.get $pd) (i32.const 8)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cs)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rs))))

  ;; One row of gemm_acc (batch size 1, no padding to four rows): c[j] = ((c[j] + a(0)B[0][j])
  ;; + a(1)B[1][j]) + ... with a(k) at a + 8*k*aks, B K x N (rows ldb apart), N a multiple of 4.
  ;; Sixteen columns at a time (8 accumulators), then four.
  (func (export "gemv_acc")
    (param $N i32) (param $K i32) (param $a i32) (param $aks i32) (param $b i32) (param $ldb i32) (param $c i32)
    (local $j i32) (local $k i32) (local $ksa i32) (local $rowb i32) (local $pa i32) (local $pb i32) (local $pc i32)
    (local $s v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $c4 v128) (local $c5 v128) (local $c6 v128) (local $c7 v128)
    (local.set $ksa (i32.shl (local.get $aks) (i32.const 3)))
    (local.set $rowb (i32.shl (local.get $ldb) (i32.const 3)))
    (local.set $j (i32.const 0))
    (block $wide_done
      (loop $wide
        (br_if $wide_done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $N)))
        (local.set $pc (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 3))))
        (local.set $c0 (v128.load (local.get $pc)))
        (local.set $c1 (v128.load offset=16 (local.get $pc)))
        (local.set $c2 (v128.load offset=32 (local.get $pc)))
        (local.set $c3 (v128.load offset=48 (local.get $pc)))
        (local.set $c4 (v128.load offset=64 (local.get $pc)))
        (local.set $c5 (v128.load offset=80 (local.get $pc)))
        (local.set $c6 (v128.load offset=96 (local.get $pc)))
        (local.set $c7 (v128.load offset=112 (local.get $pc)))
        (local.set $pa (local.get $a))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 3))))
        (local.set $k (local.get $K))
        (block $k_done
          (loop $ks
            (br_if $k_done (i32.eqz (local.get $k)))
            (local.set $s (v128.load64_splat (local.get $pa)))
            (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (local.get $s) (v128.load (local.get $pb)))))
            (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (local.get $s) (v128.load offset=16 (local.get $pb)))))
            (local.set $c2 (f64x2.add (local.get $c2) (f64x2.mul (local.get $s) (v128.load offset=32 (local.get $pb)))))
            (local.set $c3 (f64x2.add (local.get $c3) (f64x2.mul (local.get $s) (v128.load offset=48 (local.get $pb)))))
            (local.set $c4 (f64x2.add (local.get $c4) (f64x2.mul (local.get $s) (v128.load offset=64 (local.get $pb)))))
            (local.set $c5 (f64x2.add (local.get $c5) (f64x2.mul (local.get $s) (v128.load offset=80 (local.get $pb)))))
            (local.set $c6 (f64x2.add (local.get $c6) (f64x2.mul (local.get $s) (v128.load offset=96 (local.get $pb)))))
            (local.set $c7 (f64x2.add (local.get $c7) (f64x2.mul (local.get $s) (v128.load offset=112 (local.get $pb)))))
            (local.set $pa (i32.add (local.get $pa) (local.get $ksa)))
            (local.set $pb (i32.add (local.get $pb) (local.get $rowb)))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $ks)))
        (v128.store (local.get $pc) (local.get $c0))
        (v128.store offset=16 (local.get $pc) (local.get $c1))
        (v128.store offset=32 (local.get $pc) (local.get $c2))
        (v128.store offset=48 (local.get $pc) (local.get $c3))
        (v128.store offset=64 (local.get $pc) (local.get $c4))
        (v128.store offset=80 (local.get $pc) (local.get $c5))
        (v128.store offset=96 (local.get $pc) (local.get $c6))
        (v128.store offset=112 (local.get $pc) (local.get $c7))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $wide)))
    (block $narrow_done
      (loop $narrow
        (br_if $narrow_done (i32.ge_u (local.get $j) (local.get $N)))
        (local.set $pc (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 3))))
        (local.set $c0 (v128.load (local.get $pc)))
        (local.set $c1 (v128.load offset=16 (local.get $pc)))
        (local.set $pa (local.get $a))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 3))))
        (local.set $k (local.get $K))
        (block $k4_done
          (loop $k4
            (br_if $k4_done (i32.eqz (local.get $k)))
            (local.set $s (v128.load64_splat (local.get $pa)))
            (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (local.get $s) (v128.load (local.get $pb)))))
            (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (local.get $s) (v128.load offset=16 (local.get $pb)))))
            (local.set $pa (i32.add (local.get $pa) (local.get $ksa)))
            (local.set $pb (i32.add (local.get $pb) (local.get $rowb)))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $k4)))
        (v128.store (local.get $pc) (local.get $c0))
        (v128.store offset=16 (local.get $pc) (local.get $c1))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $narrow))))

  ;; One row of gemm_dot (batch size 1 with a resident, transposed B): c[j] += s_j with
  ;; s_j = ((0 + a(0)Bt[0][j]) + a(1)Bt[1][j]) + ..., Bt = B transposed (K x N, rows ldb apart).
  ;; The loops of gemv_acc; the sums start at zero and are added to c at the end.
  (func (export "gemv_dot")
    (param $N i32) (param $K i32) (param $a i32) (param $aks i32) (param $b i32) (param $ldb i32) (param $c i32)
    (local $j i32) (local $k i32) (local $ksa i32) (local $rowb i32) (local $pa i32) (local $pb i32) (local $pc i32)
    (local $s v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $c4 v128) (local $c5 v128) (local $c6 v128) (local $c7 v128)
    (local.set $ksa (i32.shl (local.get $aks) (i32.const 3)))
    (local.set $rowb (i32.shl (local.get $ldb) (i32.const 3)))
    (local.set $j (i32.const 0))
    (block $wide_done
      (loop $wide
        (br_if $wide_done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $N)))
        (local.set $pc (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 3))))
        (local.set $c0 (v128.const f64x2 0 0))
        (local.set $c1 (v128.const f64x2 0 0))
        (local.set $c2 (v128.const f64x2 0 0))
        (local.set $c3 (v128.const f64x2 0 0))
        (local.set $c4 (v128.const f64x2 0 0))
        (local.set $c5 (v128.const f64x2 0 0))
        (local.set $c6 (v128.const f64x2 0 0))
        (local.set $c7 (v128.const f64x2 0 0))
        (local.set $pa (local.get $a))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 3))))
        (local.set $k (local.get $K))
        (block $k_done
          (loop $ks
            (br_if $k_done (i32.eqz (local.get $k)))
            (local.set $s (v128.load64_splat (local.get $pa)))
            (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (local.get $s) (v128.load (local.get $pb)))))
            (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (local.get $s) (v128.load offset=16 (local.get $pb)))))
            (local.set $c2 (f64x2.add (local.get $c2) (f64x2.mul (local.get $s) (v128.load offset=32 (local.get $pb)))))
            (local.set $c3 (f64x2.add (local.get $c3) (f64x2.mul (local.get $s) (v128.load offset=48 (local.get $pb)))))
            (local.set $c4 (f64x2.add (local.get $c4) (f64x2.mul (local.get $s) (v128.load offset=64 (local.get $pb)))))
            (local.set $c5 (f64x2.add (local.get $c5) (f64x2.mul (local.get $s) (v128.load offset=80 (local.get $pb)))))
            (local.set $c6 (f64x2.add (local.get $c6) (f64x2.mul (local.get $s) (v128.load offset=96 (local.get $pb)))))
            (local.set $c7 (f64x2.add (local.get $c7) (f64x2.mul (local.get $s) (v128.load offset=112 (local.get $pb)))))
            (local.set $pa (i32.add (local.get $pa) (local.get $ksa)))
            (local.set $pb (i32.add (local.get $pb) (local.get $rowb)))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $ks)))
        (v128.store (local.get $pc) (f64x2.add (v128.load (local.get $pc)) (local.get $c0)))
        (v128.store offset=16 (local.get $pc) (f64x2.add (v128.load offset=16 (local.get $pc)) (local.get $c1)))
        (v128.store offset=32 (local.get $pc) (f64x2.add (v128.load offset=32 (local.get $pc)) (local.get $c2)))
        (v128.store offset=48 (local.get $pc) (f64x2.add (v128.load offset=48 (local.get $pc)) (local.get $c3)))
        (v128.store offset=64 (local.get $pc) (f64x2.add (v128.load offset=64 (local.get $pc)) (local.get $c4)))
        (v128.store offset=80 (local.get $pc) (f64x2.add (v128.load offset=80 (local.get $pc)) (local.get $c5)))
        (v128.store offset=96 (local.get $pc) (f64x2.add (v128.load offset=96 (local.get $pc)) (local.get $c6)))
        (v128.store offset=112 (local.get $pc) (f64x2.add (v128.load offset=112 (local.get $pc)) (local.get $c7)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $wide)))
    (block $narrow_done
      (loop $narrow
        (br_if $narrow_done (i32.ge_u (local.get $j) (local.get $N)))
        (local.set $pc (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 3))))
        (local.set $c0 (v128.const f64x2 0 0))
        (local.set $c1 (v128.const f64x2 0 0))
        (local.set $pa (local.get $a))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 3))))
        (local.set $k (local.get $K))
        (block $k4_done
          (loop $k4
            (br_if $k4_done (i32.eqz (local.get $k)))
            (local.set $s (v128.load64_splat (local.get $pa)))
            (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (local.get $s) (v128.load (local.get $pb)))))
            (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (local.get $s) (v128.load offset=16 (local.get $pb)))))
            (local.set $pa (i32.add (local.get $pa) (local.get $ksa)))
            (local.set $pb (i32.add (local.get $pb) (local.get $rowb)))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $k4)))
        (v128.store (local.get $pc) (f64x2.add (v128.load (local.get $pc)) (local.get $c0)))
        (v128.store offset=16 (local.get $pc) (f64x2.add (v128.load offset=16 (local.get $pc)) (local.get $c1)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $narrow))))

  ;; linalg.ts's gemmABt, element by element: C[i][j] += s with
  ;;   s = 0 + A[i][0]B[j][0] + A[i][1]B[j][1] + ... + A[i][K-1]B[j][K-1] in that order.
  ;; Lanes hold two rows of A. A and B are row panels (M x K, N x K): the four rows a k of
  ;; a tile needs are adjacent. C is M x N.
  ;; With upper = 1, row tiles below the diagonal tile of each column tile are skipped (the
  ;; caller mirrors a symmetric result).
  (func (export "gemm_dot")
    (param $M i32) (param $N i32) (param $K i32) (param $a i32) (param $b i32) (param $c i32) (param $upper i32)
    (local $i i32) (local $j i32) (local $k i32)
    (local $rowk i32) (local $rowc i32)
    (local $pa i32) (local $pb i32) (local $pc i32) (local $q i32)
    (local $a0 v128) (local $a1 v128) (local $s v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $rowk (i32.shl (local.get $K) (i32.const 3)))
    (local.set $rowc (i32.shl (local.get $N) (i32.const 3)))
    ;; Column tiles outside, row tiles inside: the strip of B a column tile reads stays in
    ;; cache while every row tile uses it (B is the large operand when M is small).
    (local.set $j (i32.const 0))
    (block $cols_done
      (loop $cols
        (br_if $cols_done (i32.ge_u (local.get $j) (local.get $N)))
        (local.set $i (i32.const 0))
        (block $rows_done
          (loop $rows
            (br_if $rows_done (i32.ge_u (local.get $i) (local.get $M)))
            ;; upper (a Gram matrix A·Aᵀ, A = B): only the tiles on or above the diagonal.
            (br_if $rows_done (i32.and (local.get $upper) (i32.gt_u (local.get $i) (local.get $j))))
            ;; c{jj}{p}: column j+jj, rows i+2p (lane 0) and i+2p+1 (lane 1).
            (local.set $c00 (f64x2.splat (f64.const 0)))
            (local.set $c01 (local.get $c00))
            (local.set $c10 (local.get $c00))
            (local.set $c11 (local.get $c00))
            (local.set $c20 (local.get $c00))
            (local.set $c21 (local.get $c00))
            (local.set $c30 (local.get $c00))
            (local.set $c31 (local.get $c00))
            (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rowk))))
            (local.set $pb (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $rowk))))
            (local.set $k (i32.add (local.get $pa) (i32.shl (local.get $K) (i32.const 5))))
            (if (local.get $K)
              (then
              (loop $ks
                (local.set $a0 (v128.load (local.get $pa)))
                (local.set $a1 (v128.load offset=16 (local.get $pa)))
                (local.set $s (v128.load64_splat (local.get $pb)))
                (local.set $c00 (f64x2.add (local.get $c00) (f64x2.mul (local.get $a0) (local.get $s))))
                (local.set $c01 (f64x2.add (local.get $c01) (f64x2.mul (local.get $a1) (local.get $s))))
                (local.set $s (v128.load64_splat offset=8 (local.get $pb)))
                (local.set $c10 (f64x2.add (local.get $c10) (f64x2.mul (local.get $a0) (local.get $s))))
                (local.set $c11 (f64x2.add (local.get $c11) (f64x2.mul (local.get $a1) (local.get $s))))
                (local.set $s (v128.load64_splat offset=16 (local.get $pb)))
                (local.set $c20 (f64x2.add (local.get $c20) (f64x2.mul (local.get $a0) (local.get $s))))
                (local.set $c21 (f64x2.add (local.get $c21) (f64x2.mul (local.get $a1) (local.get $s))))
                (local.set $s (v128.load64_splat offset=24 (local.get $pb)))
                (local.set $c30 (f64x2.add (local.get $c30) (f64x2.mul (local.get $a0) (local.get $s))))
                (local.set $c31 (f64x2.add (local.get $c31) (f64x2.mul (local.get $a1) (local.get $s))))
                (local.set $pa (i32.add (local.get $pa) (i32.const 32)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
                (br_if $ks (i32.ne (local.get $pa) (local.get $k))))))
            (local.set $pc (i32.add (local.get $c)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $N)) (local.get $j)) (i32.const 3))))
            (local.set $q (i32.add (local.get $pc) (i32.mul (i32.const 0) (local.get $rowc))))
            (f64.store offset=0 (local.get $q) (f64.add (f64.load offset=0 (local.get $q)) (f64x2.extract_lane 0 (local.get $c00))))
            (f64.store offset=8 (local.get $q) (f64.add (f64.load offset=8 (local.get $q)) (f64x2.extract_lane 0 (local.get $c10))))
            (f64.store offset=16 (local.get $q) (f64.add (f64.load offset=16 (local.get $q)) (f64x2.extract_lane 0 (local.get $c20))))
            (f64.store offset=24 (local.get $q) (f64.add (f64.load offset=24 (local.get $q)) (f64x2.extract_lane 0 (local.get $c30))))
            (local.set $q (i32.add (local.get $pc) (i32.mul (i32.const 1) (local.get $rowc))))
            (f64.store offset=0 (local.get $q) (f64.add (f64.load offset=0 (local.get $q)) (f64x2.extract_lane 1 (local.get $c00))))
            (f64.store offset=8 (local.get $q) (f64.add (f64.load offset=8 (local.get $q)) (f64x2.extract_lane 1 (local.get $c10))))
            (f64.store offset=16 (local.get $q) (f64.add (f64.load offset=16 (local.get $q)) (f64x2.extract_lane 1 (local.get $c20))))
            (f64.store offset=24 (local.get $q) (f64.add (f64.load offset=24 (local.get $q)) (f64x2.extract_lane 1 (local.get $c30))))
            (local.set $q (i32.add (local.get $pc) (i32.mul (i32.const 2) (local.get $rowc))))
            (f64.store offset=0 (local.get $q) (f64.add (f64.load offset=0 (local.get $q)) (f64x2.extract_lane 0 (local.get $c01))))
            (f64.store offset=8 (local.get $q) (f64.add (f64.load offset=8 (local.get $q)) (f64x2.extract_lane 0 (local.get $c11))))
            (f64.store offset=16 (local.get $q) (f64.add (f64.load offset=16 (local.get $q)) (f64x2.extract_lane 0 (local.get $c21))))
            (f64.store offset=24 (local.get $q) (f64.add (f64.load offset=24 (local.get $q)) (f64x2.extract_lane 0 (local.get $c31))))
            (local.set $q (i32.add (local.get $pc) (i32.mul (i32.const 3) (local.get $rowc))))
            (f64.store offset=0 (local.get $q) (f64.add (f64.load offset=0 (local.get $q)) (f64x2.extract_lane 1 (local.get $c01))))
            (f64.store offset=8 (local.get $q) (f64.add (f64.load offset=8 (local.get $q)) (f64x2.extract_lane 1 (local.get $c11))))
            (f64.store offset=16 (local.get $q) (f64.add (f64.load offset=16 (local.get $q)) (f64x2.extract_lane 1 (local.get $c21))))
            (f64.store offset=24 (local.get $q) (f64.add (f64.load offset=24 (local.get $q)) (f64x2.extract_lane 1 (local.get $c31))))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $rows)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $cols))))

  ;; dst[c][r] = src[r][c]: src is R x C row-major, dst rows are ldd doubles apart.
  (func (export "transpose")
    (param $src i32) (param $R i32) (param $C i32) (param $dst i32) (param $ldd i32)
    (local $r i32) (local $c i32) (local $ps i32) (local $pd i32) (local $lddb i32)
    (local.set $lddb (i32.shl (local.get $ldd) (i32.const 3)))
    (local.set $ps (local.get $src))
    (local.set $r (i32.const 0))
    (block $r_done
      (loop $rs
        (br_if $r_done (i32.ge_u (local.get $r) (local.get $R)))
        (local.set $pd (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 3))))
        (local.set $c (local.get $C))
        (block $c_done
          (loop $cs
            (br_if $c_done (i32.eqz (local.get $c)))
            (f64.store (local.get $pd) (f64.load (local.get $ps)))
            (local.set $ps (i32.add (local.get $ps) (i32.const 8)))
            (local.set $pd (i32.add (local.get $pd) (local.get $lddb)))
            (local.set $c (i32.sub (local.get $c) (i32.const 1)))
            (br $cs)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rs))))
)
