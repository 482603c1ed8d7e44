;; The checking scan of RawJsonArraySplitter (json-array-bytes.ts): where an element of a JSON
;; array ends, and whether its bytes are exactly what JSON.stringify writes for it. WebAssembly,
;; so that plain text inside strings, most of a document, is looked at sixteen bytes at a time:
;; the same scan in JavaScript, byte by byte, took about three times as long.
;;
;; Memory: 0..255 marks the bytes that end plain text (a quote, a backslash, a control
;; character); 256..511 the escapes JSON.stringify writes itself; 512..767 the literals' first
;; letters (their letters, NUL-ended, from 1024); 2048..65535 is the stack of open containers (1 an
;; object, 0 an array); from 65536 the chunk being scanned, with 16 bytes to spare after it.
;;
;; `expect` says what the grammar check expects next: 0 a value, 1 a key or }, 2 a value or ],
;; 3 a colon, 4 a comma or a close, 5 a key, 6 nothing (the element is complete).
(module
  (memory (export "memory") 2)
  (data (i32.const 0) "\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01")
  (data (i32.const 34) "\01")   ;; "
  (data (i32.const 92) "\01")   ;; \
  ;; After a backslash: " \ b f n r t.
  (data (i32.const 290) "\01")
  (data (i32.const 348) "\01")
  (data (i32.const 354) "\01")
  (data (i32.const 358) "\01")
  (data (i32.const 366) "\01")
  (data (i32.const 370) "\01")
  (data (i32.const 372) "\01")
  (data (i32.const 1024) "true\00false\00null\00")
  ;; For t, f and n: where the literal's second letter is, counted from 1024.
  (data (i32.const 628) "\01")
  (data (i32.const 614) "\06")
  (data (i32.const 622) "\0c")

  (global $depth (mut i32) (i32.const 0))
  (global $inString (mut i32) (i32.const 0))
  (global $escaped (mut i32) (i32.const 0))
  (global $canonical (mut i32) (i32.const 1))
  (global $expect (mut i32) (i32.const 0))
  (global $isKey (mut i32) (i32.const 0))
  (global $keyDigitsOnly (mut i32) (i32.const 0))
  (global $keyEmpty (mut i32) (i32.const 1))
  ;; The next letter of the literal being read, or 0.
  (global $literal (mut i32) (i32.const 0))
  ;; Top of the open containers' stack.
  (global $sp (mut i32) (i32.const 2048))

  (func $begin (export "begin")
    (global.set $depth (i32.const 0))
    (global.set $inString (i32.const 0))
    (global.set $escaped (i32.const 0))
    (global.set $canonical (i32.const 1))
    (global.set $expect (i32.const 0))
    (global.set $literal (i32.const 0))
    (global.set $sp (i32.const 2048)))

  ;; 1 when the element scanned since `begin` ended complete and canonical.
  (func (export "complete") (result i32)
    (i32.and
      (global.get $canonical)
      (i32.and
        (i32.eqz (i32.or (global.get $inString) (global.get $literal)))
        (i32.eq (global.get $expect) (i32.const 6)))))

  (func $afterValue (result i32)
    (select (i32.const 6) (i32.const 4) (i32.eq (global.get $sp) (i32.const 2048))))

  ;; 1 when the innermost open container is an object.
  (func $inObject (result i32)
    (if (result i32) (i32.eq (global.get $sp) (i32.const 2048))
      (then (i32.const 0))
      (else (i32.load8_u (i32.sub (global.get $sp) (i32.const 1))))))

  ;; The lanes of sixteen bytes that end plain text: a quote, a backslash, a control character.
  (func $endsText (param $v v128) (result i32)
    (i8x16.bitmask
      (v128.or
        (v128.or
          (i8x16.eq (local.get $v) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34))
          (i8x16.eq (local.get $v) (v128.const i8x16 92 92 92 92 92 92 92 92 92 92 92 92 92 92 92 92)))
        (i8x16.lt_u (local.get $v) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)))))

  ;; Scans bytes from..n (addresses): returns where the element ends (the comma or bracket after
  ;; it), n when it goes on past them, or -1 for a closing brace with nothing open.
  (func (export "scan") (param $i i32) (param $n i32) (result i32)
    (local $c i32)
    (local $m i32)
    (local $from i32)
    (local $v v128)
    (local $digits i32)
    (local $object i32)
    (block $out
      (loop $next
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $c (i32.load8_u (local.get $i)))
        (if (global.get $inString)
          (then
            (if (i32.eqz (global.get $escaped))
              (then
                (if (i32.eqz (global.get $isKey))
                  (then
                    ;; Plain text: sixteen bytes at a time while they fit, then byte by byte.
                    (block $found
                      (loop $wide
                        (if (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $n))
                          (then
                            (local.set $v (v128.load (local.get $i)))
                            (local.set $m (call $endsText (local.get $v)))
                            (if (local.get $m)
                              (then
                                (local.set $i (i32.add (local.get $i) (i32.ctz (local.get $m))))
                                (br $found)))
                            (local.set $i (i32.add (local.get $i) (i32.const 16)))
                            (br $wide))))
                      (loop $narrow
                        (br_if $found (i32.eq (local.get $i) (local.get $n)))
                        (br_if $found (i32.load8_u (i32.load8_u (local.get $i))))
                        (local.set $i (i32.add (local.get $i) (i32.const 1)))
                        (br $narrow))))
                  (else
                    ;; A key: noting whether it is all digits.
                    (local.set $from (local.get $i))
                    (block $keyEnd
                      (loop $wideKey
                        (if (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $n))
                          (then
                            (local.set $v (v128.load (local.get $i)))
                            (local.set $m (call $endsText (local.get $v)))
                            ;; The lanes that are not digits, of those before the end of the text.
                            (local.set $digits
                              (i32.and
                                (i8x16.bitmask
                                  (i8x16.ge_u
                                    (i8x16.sub (local.get $v) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48))
                                    (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10)))
                                (i32.sub
                                  (i32.shl (i32.const 1) (select (i32.ctz (local.get $m)) (i32.const 16) (local.get $m)))
                                  (i32.const 1))))
                            (if (local.get $digits) (then (global.set $keyDigitsOnly (i32.const 0))))
                            (if (local.get $m)
                              (then
                                (local.set $i (i32.add (local.get $i) (i32.ctz (local.get $m))))
                                (br $keyEnd)))
                            (local.set $i (i32.add (local.get $i) (i32.const 16)))
                            (br $wideKey))))
                      (loop $key
                        (br_if $keyEnd (i32.eq (local.get $i) (local.get $n)))
                        (local.set $c (i32.load8_u (local.get $i)))
                        (br_if $keyEnd (i32.load8_u (local.get $c)))
                        (if (i32.gt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 9))
                          (then (global.set $keyDigitsOnly (i32.const 0))))
                        (local.set $i (i32.add (local.get $i) (i32.const 1)))
                        (br $key)))
                    (if (i32.gt_u (local.get $i) (local.get $from))
                      (then (global.set $keyEmpty (i32.const 0))))))
                (br_if $out (i32.eq (local.get $i) (local.get $n)))
                (local.set $c (i32.load8_u (local.get $i)))))
            (if (global.get $escaped)
              (then
                (global.set $escaped (i32.const 0))
                (if (i32.eqz (i32.load8_u offset=256 (local.get $c)))
                  (then (global.set $canonical (i32.const 0))))
                (global.set $keyDigitsOnly (i32.const 0)))
              (else
                (if (i32.eq (local.get $c) (i32.const 92))
                  (then (global.set $escaped (i32.const 1)))
                  (else
                    (if (i32.eq (local.get $c) (i32.const 34))
                      (then
                        (global.set $inString (i32.const 0))
                        (if (global.get $canonical)
                          (then
                            (if (i32.eqz (global.get $isKey))
                              (then
                                (global.set $expect (call $afterValue))
                                ;; `,"` after a value in an object: the next key, straight away.
                                (if (i32.and
                                      (i32.lt_u (i32.add (local.get $i) (i32.const 2)) (local.get $n))
                                      (i32.eq (i32.load16_u offset=1 (local.get $i)) (i32.const 0x222c)))
                                  (then
                                    (if (call $inObject)
                                      (then
                                        (global.set $inString (i32.const 1))
                                        (global.set $isKey (i32.const 1))
                                        (global.set $keyDigitsOnly (i32.const 1))
                                        (global.set $keyEmpty (i32.const 1))
                                        (global.set $expect (i32.const 5))
                                        (local.set $i (i32.add (local.get $i) (i32.const 3)))
                                        (br $next))))))
                              (else
                                ;; V8 puts integer-like keys first, so JSON.parse then JSON.stringify would reorder them.
                                (if (i32.and (global.get $keyDigitsOnly) (i32.eqz (global.get $keyEmpty)))
                                  (then (global.set $canonical (i32.const 0))))
                                (global.set $isKey (i32.const 0))
                                (global.set $expect (i32.const 3))
                                ;; `:"` after a key: its value, a string, straight away.
                                (if (i32.and
                                      (i32.and (global.get $canonical) (i32.lt_u (i32.add (local.get $i) (i32.const 2)) (local.get $n)))
                                      (i32.eq (i32.load16_u offset=1 (local.get $i)) (i32.const 0x223a)))
                                  (then
                                    (global.set $inString (i32.const 1))
                                    (global.set $expect (i32.const 0))
                                    (local.set $i (i32.add (local.get $i) (i32.const 3)))
                                    (br $next))))))))
                      ;; A control character, which JSON allows only escaped.
                      (else (global.set $canonical (i32.const 0))))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        ;; Outside strings.
        (if (global.get $literal)
          (then
            (if (i32.eq (local.get $c) (i32.load8_u (global.get $literal)))
              (then
                (global.set $literal (i32.add (global.get $literal) (i32.const 1)))
                (if (i32.eqz (i32.load8_u (global.get $literal)))
                  (then
                    (global.set $literal (i32.const 0))
                    (global.set $expect (call $afterValue))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $next)))
            (global.set $literal (i32.const 0))
            (global.set $canonical (i32.const 0))))
        (block $handled
          (if (i32.eq (local.get $c) (i32.const 34))
            (then
              (global.set $inString (i32.const 1))
              (br_if $handled (i32.eqz (global.get $canonical)))
              (if (i32.or (i32.eq (global.get $expect) (i32.const 5)) (i32.eq (global.get $expect) (i32.const 1)))
                (then
                  (global.set $isKey (i32.const 1))
                  (global.set $keyDigitsOnly (i32.const 1))
                  (global.set $keyEmpty (i32.const 1))
                  (br $handled)))
              (if (i32.or (i32.eqz (global.get $expect)) (i32.eq (global.get $expect) (i32.const 2)))
                (then
                  (global.set $isKey (i32.const 0))
                  (br $handled)))
              (global.set $canonical (i32.const 0))
              (br $handled)))
          (if (i32.or (i32.eq (local.get $c) (i32.const 123)) (i32.eq (local.get $c) (i32.const 91)))
            (then
              (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
              (br_if $handled (i32.eqz (global.get $canonical)))
              (if (i32.eqz (i32.or (i32.eqz (global.get $expect)) (i32.eq (global.get $expect) (i32.const 2))))
                (then
                  (global.set $canonical (i32.const 0))
                  (br $handled)))
              ;; Nested deeper than the stack holds: no longer checked, only split.
              (if (i32.eq (global.get $sp) (i32.const 65536))
                (then
                  (global.set $canonical (i32.const 0))
                  (br $handled)))
              (local.set $object (i32.eq (local.get $c) (i32.const 123)))
              (i32.store8 (global.get $sp) (local.get $object))
              (global.set $sp (i32.add (global.get $sp) (i32.const 1)))
              (global.set $expect (select (i32.const 1) (i32.const 2) (local.get $object)))
              (br $handled)))
          (if (i32.and
                (i32.or (i32.eq (local.get $c) (i32.const 44)) (i32.eq (local.get $c) (i32.const 93)))
                (i32.eqz (global.get $depth)))
            (then (br $out)))
          (if (i32.or (i32.eq (local.get $c) (i32.const 125)) (i32.eq (local.get $c) (i32.const 93)))
            (then
              (if (i32.eqz (global.get $depth)) (then (return (i32.const -1))))
              (global.set $depth (i32.sub (global.get $depth) (i32.const 1)))
              (br_if $handled (i32.eqz (global.get $canonical)))
              (local.set $object (i32.eq (local.get $c) (i32.const 125)))
              (if (i32.or
                    (i32.or
                      (i32.eq (global.get $sp) (i32.const 2048))
                      (i32.ne (call $inObject) (local.get $object)))
                    (i32.eqz
                      (i32.or
                        (i32.eq (global.get $expect) (i32.const 4))
                        (i32.eq (global.get $expect) (select (i32.const 1) (i32.const 2) (local.get $object))))))
                (then
                  (global.set $canonical (i32.const 0))
                  (br $handled)))
              (global.set $sp (i32.sub (global.get $sp) (i32.const 1)))
              (global.set $expect (call $afterValue))
              (br $handled)))
          (if (i32.eq (local.get $c) (i32.const 44))
            (then
              (br_if $handled (i32.eqz (global.get $canonical)))
              (if (i32.ne (global.get $expect) (i32.const 4))
                (then (global.set $canonical (i32.const 0)))
                (else (global.set $expect (select (i32.const 5) (i32.const 0) (call $inObject)))))
              (br $handled)))
          (if (i32.eq (local.get $c) (i32.const 58))
            (then
              (if (i32.eq (global.get $expect) (i32.const 3))
                (then (global.set $expect (i32.const 0)))
                (else (global.set $canonical (i32.const 0))))
              (br $handled)))
          (if (i32.and
                (i32.and (global.get $canonical) (i32.ne (i32.load8_u offset=512 (local.get $c)) (i32.const 0)))
                (i32.or (i32.eqz (global.get $expect)) (i32.eq (global.get $expect) (i32.const 2))))
            (then
              ;; The literal's second letter: its first is this one.
              (global.set $literal (i32.add (i32.const 1024) (i32.load8_u offset=512 (local.get $c))))
              (br $handled)))
          ;; Whitespace after the element, before its comma, is left out of its bytes.
          (if (i32.or
                (i32.ne (global.get $expect) (i32.const 6))
                (i32.eqz
                  (i32.or
                    (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 10)))
                    (i32.or (i32.eq (local.get $c) (i32.const 13)) (i32.eq (local.get $c) (i32.const 9))))))
            (then (global.set $canonical (i32.const 0)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i)))
