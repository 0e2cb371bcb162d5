;; WebAssembly SIMD (f64x2) tanh and sigmoid for the cells' gate blocks, bit-identical to
;; src/engine/activations.ts, which explains the method (Cody–Waite reduction, a Taylor
;; polynomial by Estrin's scheme, 2ᵏ from the exponent bits). Both lanes take the same
;; float64 operations in the same order as the TypeScript (no fused multiply-add); where the
;; TypeScript picks one of two expressions, both are computed here and each lane keeps its
;; own. Assembled by assemble.mjs (wabt) into activationsWasm.ts. Addresses are in bytes.
;;
;; Constants live in a table at the start of memory, each twice (both lanes), and are read
;; with one load: V8 builds a v128.const from immediates in several instructions, which
;; made these functions about twice as slow. The table holds the TypeScript's doubles
;; exactly (little-endian bytes; each line gives the value in hexadecimal). The caller's
;; data starts at DATA_START = 400 (exported as data_start).
(module
  (import "env" "memory" (memory 1))  ;; made by the caller (wasmModule.ts reservedMemory)
  (global (export "data_start") i32 (i32.const 400))
  (data (i32.const 0)
    "\fe\82\2b\65\47\15\f7\3f\fe\82\2b\65\47\15\f7\3f" ;;   0  log2 e: 0x1.71547652b82fep0
    "\00\00\00\00\00\00\38\43\00\00\00\00\00\00\38\43" ;;  16  1.5·2⁵²: 0x1.8000000000000p52
    "\00\00\e0\fe\42\2e\e6\3f\00\00\e0\fe\42\2e\e6\3f" ;;  32  ln2_hi: 0x1.62e42fee00000p-1
    "\76\3c\79\35\ef\39\ea\3d\76\3c\79\35\ef\39\ea\3d" ;;  48  ln2_lo: 0x1.a39ef35793c76p-33
    "\00\00\00\00\00\00\e0\3f\00\00\00\00\00\00\e0\3f" ;;  64  c1 = 1/2!: 0x1.0000000000000p-1
    "\55\55\55\55\55\55\c5\3f\55\55\55\55\55\55\c5\3f" ;;  80  c2 = 1/3!: 0x1.5555555555555p-3
    "\55\55\55\55\55\55\a5\3f\55\55\55\55\55\55\a5\3f" ;;  96  c3 = 1/4!: 0x1.5555555555555p-5
    "\11\11\11\11\11\11\81\3f\11\11\11\11\11\11\81\3f" ;; 112  c4 = 1/5!: 0x1.1111111111111p-7
    "\17\6c\c1\16\6c\c1\56\3f\17\6c\c1\16\6c\c1\56\3f" ;; 128  c5 = 1/6!: 0x1.6c16c16c16c17p-10
    "\1a\a0\01\1a\a0\01\2a\3f\1a\a0\01\1a\a0\01\2a\3f" ;; 144  c6 = 1/7!: 0x1.a01a01a01a01ap-13
    "\1a\a0\01\1a\a0\01\fa\3e\1a\a0\01\1a\a0\01\fa\3e" ;; 160  c7 = 1/8!: 0x1.a01a01a01a01ap-16
    "\34\c7\56\a5\e3\1d\c7\3e\34\c7\56\a5\e3\1d\c7\3e" ;; 176  c8 = 1/9!: 0x1.71de3a556c734p-19
    "\5c\9f\78\b7\4f\7e\92\3e\5c\9f\78\b7\4f\7e\92\3e" ;; 192  c9 = 1/10!: 0x1.27e4fb7789f5cp-22
    "\e4\44\f5\67\45\e6\5a\3e\e4\44\f5\67\45\e6\5a\3e" ;; 208  c10 = 1/11!: 0x1.ae64567f544e4p-26
    "\98\d8\f8\ef\d8\ee\21\3e\98\d8\f8\ef\d8\ee\21\3e" ;; 224  c11 = 1/12!: 0x1.1eed8eff8d898p-29
    "\09\6d\a8\13\46\12\e6\3d\09\6d\a8\13\46\12\e6\3d" ;; 240  c12 = 1/13!: 0x1.6124613a86d09p-33
    "\00\00\00\00\00\00\f0\3f\00\00\00\00\00\00\f0\3f" ;; 256  1: 0x1.0000000000000p0
    "\00\00\00\00\00\00\00\40\00\00\00\00\00\00\00\40" ;; 272  2: 0x1.0000000000000p1
    "\00\00\00\00\00\00\00\c0\00\00\00\00\00\00\00\c0" ;; 288  −2: -0x1.0000000000000p1
    "\00\00\00\00\00\00\34\40\00\00\00\00\00\00\34\40" ;; 304  tanh clamp: 0x1.4000000000000p4
    "\9a\99\99\99\99\99\e1\3f\9a\99\99\99\99\99\e1\3f" ;; 320  tanh small-argument bound: 0x1.199999999999ap-1
    "\00\00\00\00\00\20\86\40\00\00\00\00\00\20\86\40" ;; 336  exp max: 0x1.6200000000000p9
    "\00\00\00\00\00\00\44\c0\00\00\00\00\00\00\44\c0" ;; 352  exp min: -0x1.4000000000000p5
    "\ff\03\00\00\00\00\00\00\ff\03\00\00\00\00\00\00" ;; 368  exponent bias (i64): 1023
    "\00\00\00\00\00\00\00\80\00\00\00\00\00\00\00\80" ;; 384  sign bit (i64): 0x8000000000000000
  )

  ;; eʸ = scale·(1 + q) on both lanes, y in [-40, 708] (the callers clamp):
  ;;   t = y·log2 e + 1.5·2⁵², k = t − 1.5·2⁵² (y / ln 2 rounded to nearest even),
  ;;   r = (y − k·ln2_hi) − k·ln2_lo,  q = r + r²·Q(r), Q = Σ cₙ rⁿ⁻¹ (n = 1..12, cₙ = 1/(n+1)!)
  ;;   by Estrin: b0 = (c1 + c2 r) + (c3 + c4 r) r², b1, b2 likewise, Q = (b0 + b1 r⁴) + b2 r⁸,
  ;;   scale = 2ᵏ = bits((bits(t) + 1023) << 52): t's low bits hold k.
  (func $expParts (param $y v128) (result v128 v128)
    (local $t v128) (local $k v128) (local $r v128) (local $r2 v128) (local $r4 v128) (local $r8 v128)
    (local.set $t (f64x2.add (f64x2.mul (local.get $y) (v128.load offset=0 (i32.const 0))) (v128.load offset=16 (i32.const 0))))
    (local.set $k (f64x2.sub (local.get $t) (v128.load offset=16 (i32.const 0))))
    (local.set $r (f64x2.sub
      (f64x2.sub (local.get $y) (f64x2.mul (local.get $k) (v128.load offset=32 (i32.const 0))))
      (f64x2.mul (local.get $k) (v128.load offset=48 (i32.const 0)))))
    (local.set $r2 (f64x2.mul (local.get $r) (local.get $r)))
    (local.set $r4 (f64x2.mul (local.get $r2) (local.get $r2)))
    (local.set $r8 (f64x2.mul (local.get $r4) (local.get $r4)))
    (i64x2.shl (i64x2.add (local.get $t) (v128.load offset=368 (i32.const 0))) (i32.const 52))
    (f64x2.add (local.get $r) (f64x2.mul (local.get $r2)
      (f64x2.add
        (f64x2.add
          (f64x2.add (f64x2.add (v128.load offset=64 (i32.const 0)) (f64x2.mul (v128.load offset=80 (i32.const 0)) (local.get $r))) (f64x2.mul (f64x2.add (v128.load offset=96 (i32.const 0)) (f64x2.mul (v128.load offset=112 (i32.const 0)) (local.get $r))) (local.get $r2)))
          (f64x2.mul (f64x2.add (f64x2.add (v128.load offset=128 (i32.const 0)) (f64x2.mul (v128.load offset=144 (i32.const 0)) (local.get $r))) (f64x2.mul (f64x2.add (v128.load offset=160 (i32.const 0)) (f64x2.mul (v128.load offset=176 (i32.const 0)) (local.get $r))) (local.get $r2))) (local.get $r4)))
        (f64x2.mul (f64x2.add (f64x2.add (v128.load offset=192 (i32.const 0)) (f64x2.mul (v128.load offset=208 (i32.const 0)) (local.get $r))) (f64x2.mul (f64x2.add (v128.load offset=224 (i32.const 0)) (f64x2.mul (v128.load offset=240 (i32.const 0)) (local.get $r))) (local.get $r2))) (local.get $r8)))))
  )

  ;; tanh: a = min(|x|, 20), t = e²ᵃ − 1 = scale·q + (scale − 1);
  ;; a < 0.55: 0 + t/(t + 2), else 1 + (−2)/(t + 2); the sign of x.
  (func $tanh (param $x v128) (result v128)
    (local $a v128) (local $small v128) (local $scale v128) (local $q v128) (local $t v128)
    (local.set $a (f64x2.pmin (f64x2.abs (local.get $x)) (v128.load offset=304 (i32.const 0))))
    (local.set $small (f64x2.lt (local.get $a) (v128.load offset=320 (i32.const 0))))
    (call $expParts (f64x2.add (local.get $a) (local.get $a)))
    (local.set $q)
    (local.set $scale)
    (local.set $t (f64x2.add (f64x2.mul (local.get $scale) (local.get $q)) (f64x2.sub (local.get $scale) (v128.load offset=256 (i32.const 0)))))
    (v128.or
      (f64x2.add
        (v128.andnot (v128.load offset=256 (i32.const 0)) (local.get $small))
        (f64x2.div (v128.bitselect (local.get $t) (v128.load offset=288 (i32.const 0)) (local.get $small)) (f64x2.add (local.get $t) (v128.load offset=272 (i32.const 0)))))
      (v128.and (local.get $x) (v128.load offset=384 (i32.const 0))))
  )

  ;; sigmoid: y = −x; 0 where y > 708; else 1/(1 + scale·(1 + q)) for y clamped to [−40, 708].
  (func $sigmoid (param $x v128) (result v128)
    (local $y v128) (local $big v128) (local $scale v128) (local $q v128)
    (local.set $y (f64x2.neg (local.get $x)))
    (local.set $big (f64x2.gt (local.get $y) (v128.load offset=336 (i32.const 0))))
    (call $expParts (f64x2.pmin (f64x2.pmax (local.get $y) (v128.load offset=352 (i32.const 0))) (v128.load offset=336 (i32.const 0))))
    (local.set $q)
    (local.set $scale)
    (v128.andnot
      (f64x2.div (v128.load offset=256 (i32.const 0)) (f64x2.add (v128.load offset=256 (i32.const 0)) (f64x2.mul (local.get $scale) (f64x2.add (v128.load offset=256 (i32.const 0)) (local.get $q)))))
      (local.get $big))
  )

  ;; tanh on a block of a matrix. In place on `rows` rows of `width` values, rows `stride`
  ;; bytes apart, from byte `ptr` (at or after DATA_START): two values at a time, an odd last
  ;; value alone (lane 0 loaded and stored, lane 1 zero).
  (func (export "tanh_rows") (param $ptr i32) (param $rows i32) (param $width i32) (param $stride i32)
    (local $q i32) (local $end i32)
    (block $done
      (loop $eachRow
        (br_if $done (i32.eqz (local.get $rows)))
        (local.set $q (local.get $ptr))
        (local.set $end (i32.add (local.get $ptr) (i32.shl (i32.and (local.get $width) (i32.const -2)) (i32.const 3))))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_u (local.get $q) (local.get $end)))
            (v128.store (local.get $q) (call $tanh (v128.load (local.get $q))))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br $pairs)))
        (if (i32.and (local.get $width) (i32.const 1))
          (then (v128.store64_lane 0 (local.get $q) (call $tanh (v128.load64_zero (local.get $q))))))
        (local.set $ptr (i32.add (local.get $ptr) (local.get $stride)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $eachRow)))
  )

  ;; sigmoid on a block of a matrix. In place on `rows` rows of `width` values, rows `stride`
  ;; bytes apart, from byte `ptr` (at or after DATA_START): two values at a time, an odd last
  ;; value alone (lane 0 loaded and stored, lane 1 zero).
  (func (export "sigmoid_rows") (param $ptr i32) (param $rows i32) (param $width i32) (param $stride i32)
    (local $q i32) (local $end i32)
    (block $done
      (loop $eachRow
        (br_if $done (i32.eqz (local.get $rows)))
        (local.set $q (local.get $ptr))
        (local.set $end (i32.add (local.get $ptr) (i32.shl (i32.and (local.get $width) (i32.const -2)) (i32.const 3))))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_u (local.get $q) (local.get $end)))
            (v128.store (local.get $q) (call $sigmoid (v128.load (local.get $q))))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br $pairs)))
        (if (i32.and (local.get $width) (i32.const 1))
          (then (v128.store64_lane 0 (local.get $q) (call $sigmoid (v128.load64_zero (local.get $q))))))
        (local.set $ptr (i32.add (local.get $ptr) (local.get $stride)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $eachRow)))
  )
)
