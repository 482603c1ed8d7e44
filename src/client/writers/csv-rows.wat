;; The CSV rows of one export document straight from its JSON bytes (csv-rows.ts drives it): the
;; fast path of csv-bytes.ts, in WebAssembly, for documents as this server writes them. Its
;; JavaScript reads a byte at a time; here keys and plain text are compared, looked at and copied
;; sixteen bytes at a time, and the rows of many documents gather here before the caller moves them.
;;
;; Narrower than csv-bytes.ts on purpose: keys must come in the order the shape tables give (the
;; order csv-bytes.ts learned from the response), with no whitespace, no numbers, no `\u` or `\/`
;; escape. Anything else traps (`unreachable`); the caller puts the cursors back, so nothing of the
;; document is kept, and csv-bytes.ts reads it, writing it or declining it in turn. A trap with
;; `full` set means an output region ran out of room: the caller moves the rows out or makes the
;; regions larger, and calls again.
;;
;; Memory (addresses in bytes):
;;   0..27     each output's cursor (where its next bytes go): the tables in TABLE_NAMES order (0 sessions, 1 activity_log,
;;             2 coaching_points, 3 coaching_point_sessions, 4 todos, 5 todo_sessions), 6 records
;;   32..59    each output's limit (its region's end less 32: copies write up to 15 bytes past a cell)
;;   64..91    each output's start
;;   96        full: set before a trap for want of room
;;   100       raw: 1 for --csv-raw (no formula neutralising)
;;   1024      the shapes: 0 session, 1 log entry, 2 point, 3 to-do, 512 bytes each: the number of
;;             fields, of columns, 1 when a row starts with a comma (a log row's session and position
;;             come first), the id's role (1 the session's, 2 a record's); then per field in the
;;             response's order its key as `"key":` (with a comma before, but for the first) as an
;;             address and a length, how it is read (the `kind`s below) and its column
;;   3072      the session's cells, 3584 a log entry's, point's or to-do's: 16 bytes per column, its
;;             type (1 text, 2 true, 3 false, 4 null, 6 JSON text), start, end and a text's flags
;;   4096      the keys' bytes
;;   65536     the input, 16 bytes spare after it, then the output regions (placed by csv-rows.ts)
;;
;; A record (40 bytes): its table (2 or 4), its id's start, end and flags, its row's start and
;; end, its link rows' start and end, and two 32-bit hashes of its id's bytes (`$hash`).
;; A text's flags: 1 it holds an escape, 2 it needs quotes (a quote, comma, CR or LF once unescaped).
;; A record's id's flags also hold 16 when its list of sessions is the document's session alone.
(module
  (memory (export "memory") 2)

  (global $end (mut i32) (i32.const 0))
  ;; The text `$string` read last.
  (global $textStart (mut i32) (i32.const 0))
  (global $textEnd (mut i32) (i32.const 0))
  (global $textFlags (mut i32) (i32.const 0))
  ;; The session's id, and the id of the point or to-do being read.
  (global $sessionStart (mut i32) (i32.const 0))
  (global $sessionEnd (mut i32) (i32.const 0))
  (global $sessionFlags (mut i32) (i32.const 0))
  (global $sessionKnown (mut i32) (i32.const 0))
  (global $recordStart (mut i32) (i32.const 0))
  (global $recordEnd (mut i32) (i32.const 0))
  (global $recordFlags (mut i32) (i32.const 0))
  ;; Where the record's list of sessions begins (its `[`), or 0.
  (global $idsAt (mut i32) (i32.const 0))
  ;; 16 when the record's list of sessions is the document's session alone, else 0 (see `$links`).
  (global $ownOnly (mut i32) (i32.const 0))

  ;; How fields are read.
  ;; 0 a column, 1 the log, 2 the points, 3 the to-dos, 4 descriptions (JSON text), 5 a record's sessions

  (func $full
    (i32.store (i32.const 96) (i32.const 1))
    unreachable)

  ;; The byte at p (before the end).
  (func $at (param $p i32) (result i32)
    (if (i32.ge_u (local.get $p) (global.get $end)) (then unreachable))
    (i32.load8_u (local.get $p)))

  ;; The byte at p, which must be c.
  (func $expect (param $p i32) (param $c i32)
    (if (i32.ne (call $at (local.get $p)) (local.get $c)) (then unreachable)))

  ;; Output t's cursor, with room for n bytes after it.
  (func $room (param $t i32) (param $n i32) (result i32)
    (local $o i32)
    (local.set $o (i32.load (i32.shl (local.get $t) (i32.const 2))))
    (if (i32.gt_u (i32.add (local.get $o) (local.get $n)) (i32.load offset=32 (i32.shl (local.get $t) (i32.const 2))))
      (then (call $full)))
    (local.get $o))

  (func $moveTo (param $t i32) (param $o i32)
    (i32.store (i32.shl (local.get $t) (i32.const 2)) (local.get $o)))

  (func $byte (param $t i32) (param $c i32)
    (local $o i32)
    (local.set $o (call $room (local.get $t) (i32.const 1)))
    (i32.store8 (local.get $o) (local.get $c))
    (call $moveTo (local.get $t) (i32.add (local.get $o) (i32.const 1))))

  (func $lineEnd (param $t i32)
    (local $o i32)
    (local.set $o (call $room (local.get $t) (i32.const 2)))
    (i32.store16 (local.get $o) (i32.const 0x0a0d))
    (call $moveTo (local.get $t) (i32.add (local.get $o) (i32.const 2))))

  ;; `true` or `false`: the word's bytes, little-endian in w, n of them.
  (func $word (param $t i32) (param $w i64) (param $n i32)
    (local $o i32)
    (local.set $o (call $room (local.get $t) (i32.const 8)))
    (i64.store (local.get $o) (local.get $w))
    (call $moveTo (local.get $t) (i32.add (local.get $o) (local.get $n))))

  ;; A position, in decimal.
  (func $number (param $t i32) (param $v i32)
    (local $o i32)
    (local.set $o (i32.const 1))
    (local.set $o (i32.add (local.get $o) (i32.ge_u (local.get $v) (i32.const 10))))
    (local.set $o (i32.add (local.get $o) (i32.ge_u (local.get $v) (i32.const 100))))
    (local.set $o (i32.add (local.get $o) (i32.ge_u (local.get $v) (i32.const 1000))))
    (local.set $o (i32.add (local.get $o) (i32.ge_u (local.get $v) (i32.const 10000))))
    (local.set $o (i32.add (local.get $o) (i32.ge_u (local.get $v) (i32.const 100000))))
    (local.set $o (i32.add (local.get $o) (i32.ge_u (local.get $v) (i32.const 1000000))))
    (local.set $o (i32.add (local.get $o) (i32.ge_u (local.get $v) (i32.const 10000000))))
    (local.set $o (i32.add (local.get $o) (i32.ge_u (local.get $v) (i32.const 100000000))))
    (local.set $o (i32.add (local.get $o) (i32.ge_u (local.get $v) (i32.const 1000000000))))
    (local.set $o (i32.add (call $room (local.get $t) (local.get $o)) (local.get $o)))
    (call $moveTo (local.get $t) (local.get $o))
    (loop $digit
      (local.set $o (i32.sub (local.get $o) (i32.const 1)))
      (i32.store8 (local.get $o) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $digit (local.get $v))))

  ;; n bytes from s to d, sixteen at a time (up to 15 written past them).
  (func $copy (param $d i32) (param $s i32) (param $n i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (v128.store (i32.add (local.get $d) (local.get $i)) (v128.load (i32.add (local.get $s) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next))))

  ;; The string at p (its opening quote) into $text*; returns where it ends (after its closing quote).
  (func $string (param $p i32) (result i32)
    (local $i i32)
    (local $m i32)
    (local $k i32)
    (local $c i32)
    (local $flags i32)
    (local $v v128)
    (local.set $i (i32.add (local.get $p) (i32.const 1)))
    (block $closed
      (loop $next
        (local.set $v (v128.load (local.get $i)))
        (local.set $m
          (i8x16.bitmask
            (v128.or
              (v128.or
                (i8x16.eq (local.get $v) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34))
                (i8x16.eq (local.get $v) (v128.const i8x16 92 92 92 92 92 92 92 92 92 92 92 92 92 92 92 92)))
              (v128.or
                (i8x16.eq (local.get $v) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44))
                (i8x16.lt_u (local.get $v) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32))))))
        (if (i32.eqz (local.get $m))
          (then
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (if (i32.ge_u (local.get $i) (global.get $end)) (then unreachable))
            (br $next)))
        (local.set $k (i32.add (local.get $i) (i32.ctz (local.get $m))))
        (local.set $c (call $at (local.get $k)))
        (br_if $closed (i32.eq (local.get $c) (i32.const 34)))
        (if (i32.eq (local.get $c) (i32.const 44))
          (then
            (local.set $flags (i32.or (local.get $flags) (i32.const 2)))
            (local.set $i (i32.add (local.get $k) (i32.const 1)))
            (br $next)))
        (if (i32.ne (local.get $c) (i32.const 92)) (then unreachable))
        (local.set $c (call $at (i32.add (local.get $k) (i32.const 1))))
        ;; " n r need quotes once unescaped; \ b f t do not; / and u are not JSON.stringify's.
        (if (i32.or
              (i32.eq (local.get $c) (i32.const 34))
              (i32.or (i32.eq (local.get $c) (i32.const 110)) (i32.eq (local.get $c) (i32.const 114))))
          (then (local.set $flags (i32.or (local.get $flags) (i32.const 3))))
          (else
            (if (i32.or
                  (i32.or (i32.eq (local.get $c) (i32.const 92)) (i32.eq (local.get $c) (i32.const 98)))
                  (i32.or (i32.eq (local.get $c) (i32.const 102)) (i32.eq (local.get $c) (i32.const 116))))
              (then (local.set $flags (i32.or (local.get $flags) (i32.const 1))))
              (else unreachable))))
        (local.set $i (i32.add (local.get $k) (i32.const 2)))
        (br $next)))
    (global.set $textStart (i32.add (local.get $p) (i32.const 1)))
    (global.set $textEnd (local.get $k))
    (global.set $textFlags (local.get $flags))
    (i32.add (local.get $k) (i32.const 1)))

  ;; JSON's short escapes of s..e undone to d (`\"` becomes RFC 4180's `""`); returns d's end.
  (func $unescape (param $d i32) (param $s i32) (param $e i32) (result i32)
    (local $c i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $s) (local.get $e)))
        (local.set $c (i32.load8_u (local.get $s)))
        (if (i32.ne (local.get $c) (i32.const 92))
          (then
            (i32.store8 (local.get $d) (local.get $c))
            (local.set $d (i32.add (local.get $d) (i32.const 1)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (br $next)))
        (local.set $c (i32.load8_u offset=1 (local.get $s)))
        (local.set $s (i32.add (local.get $s) (i32.const 2)))
        (if (i32.eq (local.get $c) (i32.const 34))
          (then
            (i32.store16 (local.get $d) (i32.const 0x2222))
            (local.set $d (i32.add (local.get $d) (i32.const 2)))
            (br $next)))
        (i32.store8 (local.get $d)
          (select (i32.const 10) (select (i32.const 13) (select (i32.const 9) (select (i32.const 8) (select (i32.const 12) (i32.const 92)
            (i32.eq (local.get $c) (i32.const 102)))
            (i32.eq (local.get $c) (i32.const 98)))
            (i32.eq (local.get $c) (i32.const 116)))
            (i32.eq (local.get $c) (i32.const 114)))
            (i32.eq (local.get $c) (i32.const 110))))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (br $next)))
    (local.get $d))

  ;; A text cell (csv-text.ts's rules): quoted when it must be, `'` before what starts a formula.
  (func $cell (param $t i32) (param $s i32) (param $e i32) (param $flags i32)
    (local $o i32)
    (local $c i32)
    (local $quoted i32)
    (local.set $o (call $room (local.get $t) (i32.add (i32.sub (local.get $e) (local.get $s)) (i32.const 3))))
    (if (i32.eq (local.get $s) (local.get $e))
      (then
        (i32.store16 (local.get $o) (i32.const 0x2222))
        (call $moveTo (local.get $t) (i32.add (local.get $o) (i32.const 2)))
        (return)))
    (local.set $quoted (i32.and (local.get $flags) (i32.const 2)))
    (if (local.get $quoted)
      (then
        (i32.store8 (local.get $o) (i32.const 34))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))))
    (if (i32.eqz (i32.load (i32.const 100)))
      (then
        (local.set $c (i32.load8_u (local.get $s)))
        ;; = + - @, or an escaped tab or CR.
        (if (i32.or
              (i32.or
                (i32.or (i32.eq (local.get $c) (i32.const 61)) (i32.eq (local.get $c) (i32.const 43)))
                (i32.or (i32.eq (local.get $c) (i32.const 45)) (i32.eq (local.get $c) (i32.const 64))))
              (i32.and
                (i32.eq (local.get $c) (i32.const 92))
                (i32.or
                  (i32.eq (i32.load8_u offset=1 (local.get $s)) (i32.const 116))
                  (i32.eq (i32.load8_u offset=1 (local.get $s)) (i32.const 114)))))
          (then
            (i32.store8 (local.get $o) (i32.const 39))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))))))
    (if (i32.and (local.get $flags) (i32.const 1))
      (then (local.set $o (call $unescape (local.get $o) (local.get $s) (local.get $e))))
      (else
        (call $copy (local.get $o) (local.get $s) (i32.sub (local.get $e) (local.get $s)))
        (local.set $o (i32.add (local.get $o) (i32.sub (local.get $e) (local.get $s))))))
    (if (local.get $quoted)
      (then
        (i32.store8 (local.get $o) (i32.const 34))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))))
    (call $moveTo (local.get $t) (local.get $o)))

  ;; JSON text as one cell: quoted, every quote doubled (`[]` holds nothing to quote).
  (func $jsonCell (param $t i32) (param $s i32) (param $e i32)
    (local $o i32)
    (local $c i32)
    (local.set $o (call $room (local.get $t) (i32.add (i32.shl (i32.sub (local.get $e) (local.get $s)) (i32.const 1)) (i32.const 2))))
    (if (i32.eq (i32.sub (local.get $e) (local.get $s)) (i32.const 2))
      (then
        (i32.store16 (local.get $o) (i32.const 0x5d5b))
        (call $moveTo (local.get $t) (i32.add (local.get $o) (i32.const 2)))
        (return)))
    (i32.store8 (local.get $o) (i32.const 34))
    (local.set $o (i32.add (local.get $o) (i32.const 1)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $s) (local.get $e)))
        (local.set $c (i32.load8_u (local.get $s)))
        (i32.store8 (local.get $o) (local.get $c))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (if (i32.eq (local.get $c) (i32.const 34))
          (then
            (i32.store8 (local.get $o) (i32.const 34))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $next)))
    (i32.store8 (local.get $o) (i32.const 34))
    (call $moveTo (local.get $t) (i32.add (local.get $o) (i32.const 1))))

  ;; A column's value at p into its cell at a; returns where it ends.
  (func $value (param $p i32) (param $a i32) (result i32)
    (local $w i32)
    (if (i32.eq (call $at (local.get $p)) (i32.const 34))
      (then
        (local.set $p (call $string (local.get $p)))
        (i32.store (local.get $a) (i32.const 1))
        (i32.store offset=4 (local.get $a) (global.get $textStart))
        (i32.store offset=8 (local.get $a) (global.get $textEnd))
        (i32.store offset=12 (local.get $a) (global.get $textFlags))
        (return (local.get $p))))
    (if (i32.gt_u (i32.add (local.get $p) (i32.const 4)) (global.get $end)) (then unreachable))
    (local.set $w (i32.load (local.get $p)))
    (if (i32.eq (local.get $w) (i32.const 0x65757274))
      (then
        (i32.store (local.get $a) (i32.const 2))
        (return (i32.add (local.get $p) (i32.const 4)))))
    (if (i32.eq (local.get $w) (i32.const 0x6c6c756e))
      (then
        (i32.store (local.get $a) (i32.const 4))
        (return (i32.add (local.get $p) (i32.const 4)))))
    (if (i32.and (i32.eq (local.get $w) (i32.const 0x736c6166)) (i32.eq (call $at (i32.add (local.get $p) (i32.const 4))) (i32.const 101)))
      (then
        (i32.store (local.get $a) (i32.const 3))
        (return (i32.add (local.get $p) (i32.const 5)))))
    unreachable)

  ;; A list of strings at p; returns where it ends.
  (func $strings (param $p i32) (result i32)
    (local $c i32)
    (call $expect (local.get $p) (i32.const 91))
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (if (i32.eq (call $at (local.get $p)) (i32.const 93)) (then (return (i32.add (local.get $p) (i32.const 1)))))
    (loop $next
      (call $expect (local.get $p) (i32.const 34))
      (local.set $p (call $string (local.get $p)))
      (local.set $c (call $at (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $next (i32.eq (local.get $c) (i32.const 44)))
      (if (i32.ne (local.get $c) (i32.const 93)) (then unreachable)))
    (local.get $p))

  ;; A log entry's descriptions at p into its cell at a: their own bytes, as JSON.stringify writes them.
  (func $descriptions (param $p i32) (param $a i32) (result i32)
    (i32.store (local.get $a) (i32.const 6))
    (i32.store offset=4 (local.get $a) (local.get $p))
    (local.set $p (call $strings (local.get $p)))
    (i32.store offset=8 (local.get $a) (local.get $p))
    (local.get $p))

  ;; A record's link rows, one per string of its checked list at p.
  ;; Sets `$ownOnly`: 16 when the list is one string, the document's session's id byte for byte (on
  ;; this path, with no `\u` or `\/` escape, equal texts have equal bytes).
  (func $links (param $t i32) (param $p i32)
    (local $position i32)
    (global.set $ownOnly (i32.const 0))
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 93)) (then (return)))
    (loop $next
      (local.set $p (call $string (local.get $p)))
      (if (i32.and (i32.eqz (local.get $position)) (global.get $sessionKnown))
        (then
          (if (call $sameBytes (global.get $textStart) (global.get $textEnd) (global.get $sessionStart) (global.get $sessionEnd))
            (then (global.set $ownOnly (i32.const 16))))))
      (call $cell (local.get $t) (global.get $recordStart) (global.get $recordEnd) (global.get $recordFlags))
      (call $byte (local.get $t) (i32.const 44))
      (call $cell (local.get $t) (global.get $textStart) (global.get $textEnd) (global.get $textFlags))
      (call $byte (local.get $t) (i32.const 44))
      (call $number (local.get $t) (local.get $position))
      (call $lineEnd (local.get $t))
      (local.set $position (i32.add (local.get $position) (i32.const 1)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $next (i32.eq (i32.load8_u (i32.sub (local.get $p) (i32.const 1))) (i32.const 44))))
    (if (i32.gt_u (local.get $position) (i32.const 1)) (then (global.set $ownOnly (i32.const 0)))))

  ;; 1 when the bytes at a..aEnd and b..bEnd are the same, else 0.
  (func $sameBytes (param $a i32) (param $aEnd i32) (param $b i32) (param $bEnd i32) (result i32)
    (local $i i32)
    (if (i32.ne (i32.sub (local.get $aEnd) (local.get $a)) (i32.sub (local.get $bEnd) (local.get $b)))
      (then (return (i32.const 0))))
    (block $same
      (loop $next
        (br_if $same (i32.ge_u (i32.add (local.get $a) (local.get $i)) (local.get $aEnd)))
        (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i))) (i32.load8_u (i32.add (local.get $b) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  ;; Two 32-bit hashes of the bytes at s..e into the record at r: record-hashes.ts makes the same of
  ;; an id's text (its UTF-8 bytes, which are these when the id holds no escape).
  (func $hash (param $s i32) (param $e i32) (param $r i32)
    (local $a i32)
    (local $b i32)
    (local $c i32)
    (local.set $a (i32.const 0x811c9dc5))
    (local.set $b (i32.const 0x2545f491))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $s) (local.get $e)))
        (local.set $c (i32.load8_u (local.get $s)))
        (local.set $a (i32.mul (i32.xor (local.get $a) (local.get $c)) (i32.const 0x01000193)))
        (local.set $b (i32.mul (i32.xor (local.get $b) (local.get $c)) (i32.const 0x5bd1e995)))
        (local.set $b (i32.xor (local.get $b) (i32.shr_u (local.get $b) (i32.const 13))))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $next)))
    (i32.store offset=32 (local.get $r) (call $mix (local.get $a)))
    (i32.store offset=36 (local.get $r) (call $mix (local.get $b))))

  ;; MurmurHash3's finish: every bit of h moves the low bits the caller looks at.
  (func $mix (param $h i32) (result i32)
    (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
    (local.set $h (i32.mul (local.get $h) (i32.const 0x85ebca6b)))
    (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 13))))
    (local.set $h (i32.mul (local.get $h) (i32.const 0xc2b2ae35)))
    (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))

  ;; The row of the object whose cells are at `cells`, its columns in order.
  (func $row (param $t i32) (param $shape i32) (param $cells i32)
    (local $c i32)
    (local $columns i32)
    (local $a i32)
    (local $type i32)
    (local.set $columns (i32.load offset=4 (local.get $shape)))
    (loop $next
      (if (i32.or (local.get $c) (i32.load offset=8 (local.get $shape)))
        (then (call $byte (local.get $t) (i32.const 44))))
      (local.set $a (i32.add (local.get $cells) (i32.shl (local.get $c) (i32.const 4))))
      (local.set $type (i32.load (local.get $a)))
      (if (i32.eq (local.get $type) (i32.const 1))
        (then
          (call $cell (local.get $t)
            (i32.load offset=4 (local.get $a)) (i32.load offset=8 (local.get $a)) (i32.load offset=12 (local.get $a))))
        (else
          (if (i32.eq (local.get $type) (i32.const 2))
            (then (call $word (local.get $t) (i64.const 0x65757274) (i32.const 4)))
            (else
              (if (i32.eq (local.get $type) (i32.const 3))
                (then (call $word (local.get $t) (i64.const 0x65736c6166) (i32.const 5)))
                (else
                  (if (i32.eq (local.get $type) (i32.const 6))
                    (then (call $jsonCell (local.get $t) (i32.load offset=4 (local.get $a)) (i32.load offset=8 (local.get $a))))
                    ;; A column missing from the object.
                    (else (if (i32.ne (local.get $type) (i32.const 4)) (then unreachable))))))))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $c) (local.get $columns))))
    (call $lineEnd (local.get $t)))

  ;; The object at p (its `{`) of `shape`, its row written to output t; returns where it ends.
  (func $object (param $shape i32) (param $p i32) (param $t i32) (param $cells i32) (result i32)
    (local $f i32)
    (local $field i32)
    (local $key i32)
    (local $n i32)
    (local $i i32)
    (local $kind i32)
    (local $a i32)
    (local $role i32)
    (local $lanes i32)
    (local.set $role (i32.load offset=12 (local.get $shape)))
    (memory.fill (local.get $cells) (i32.const 0) (i32.shl (i32.load offset=4 (local.get $shape)) (i32.const 4)))
    (global.set $idsAt (i32.const 0))
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (loop $next
      (local.set $field (i32.add (i32.add (local.get $shape) (i32.const 16)) (i32.shl (local.get $f) (i32.const 4))))
      ;; The key, as expected.
      (local.set $key (i32.load (local.get $field)))
      (local.set $n (i32.load offset=4 (local.get $field)))
      (if (i32.gt_u (i32.add (local.get $p) (local.get $n)) (global.get $end)) (then unreachable))
      ;; Sixteen bytes at a time, the lanes past the key's end left out (keys are a third of a document).
      (local.set $i (i32.const 0))
      (block $matched
        (loop $wide
          (br_if $matched (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $lanes
            (select
              (i32.const 0xffff)
              (i32.sub (i32.shl (i32.const 1) (i32.sub (local.get $n) (local.get $i))) (i32.const 1))
              (i32.ge_u (i32.sub (local.get $n) (local.get $i)) (i32.const 16))))
          (if (i32.ne
                (i32.and
                  (i8x16.bitmask
                    (i8x16.eq
                      (v128.load (i32.add (local.get $p) (local.get $i)))
                      (v128.load (i32.add (local.get $key) (local.get $i)))))
                  (local.get $lanes))
                (local.get $lanes))
            (then unreachable))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br $wide)))
      (local.set $p (i32.add (local.get $p) (local.get $n)))
      (local.set $kind (i32.load offset=8 (local.get $field)))
      (local.set $a (i32.add (local.get $cells) (i32.shl (i32.load offset=12 (local.get $field)) (i32.const 4))))
      (block $read
        (if (i32.eqz (local.get $kind))
          (then
            (local.set $p (call $value (local.get $p) (local.get $a)))
            ;; The session's id, wanted by the log rows.
            (if (i32.and (i32.eq (local.get $role) (i32.const 1)) (i32.eq (local.get $a) (local.get $cells)))
              (then
                (if (i32.ne (i32.load (local.get $a)) (i32.const 1)) (then unreachable))
                (global.set $sessionStart (global.get $textStart))
                (global.set $sessionEnd (global.get $textEnd))
                (global.set $sessionFlags (global.get $textFlags))
                (global.set $sessionKnown (i32.const 1))))
            (br $read)))
        (if (i32.eq (local.get $kind) (i32.const 1))
          (then
            (local.set $p (call $logs (local.get $p)))
            (br $read)))
        (if (i32.eq (local.get $kind) (i32.const 2))
          (then
            (local.set $p (call $records (local.get $p) (i32.const 2) (i32.const 2048)))
            (br $read)))
        (if (i32.eq (local.get $kind) (i32.const 3))
          (then
            (local.set $p (call $records (local.get $p) (i32.const 4) (i32.const 2560)))
            (br $read)))
        (if (i32.eq (local.get $kind) (i32.const 4))
          (then
            (local.set $p (call $descriptions (local.get $p) (local.get $a)))
            (br $read)))
        (global.set $idsAt (local.get $p))
        (local.set $p (call $strings (local.get $p))))
      (local.set $f (i32.add (local.get $f) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $f) (i32.load (local.get $shape)))))
    (call $expect (local.get $p) (i32.const 125))
    (if (i32.eq (local.get $role) (i32.const 2))
      (then
        (if (i32.ne (i32.load (local.get $cells)) (i32.const 1)) (then unreachable))
        (global.set $recordStart (i32.load offset=4 (local.get $cells)))
        (global.set $recordEnd (i32.load offset=8 (local.get $cells)))
        (global.set $recordFlags (i32.load offset=12 (local.get $cells)))))
    (call $row (local.get $t) (local.get $shape) (local.get $cells))
    (if (i32.eq (local.get $role) (i32.const 2))
      (then
        (if (i32.eqz (global.get $idsAt)) (then unreachable))
        (call $links (i32.add (local.get $t) (i32.const 1)) (global.get $idsAt))))
    (i32.add (local.get $p) (i32.const 1)))

  ;; The log at p: a row per entry, after the session's id and the entry's position.
  (func $logs (param $p i32) (result i32)
    (local $position i32)
    (local $c i32)
    (call $expect (local.get $p) (i32.const 91))
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (if (i32.eq (call $at (local.get $p)) (i32.const 93)) (then (return (i32.add (local.get $p) (i32.const 1)))))
    (if (i32.eqz (global.get $sessionKnown)) (then unreachable))
    (loop $next
      (call $expect (local.get $p) (i32.const 123))
      (call $cell (i32.const 1) (global.get $sessionStart) (global.get $sessionEnd) (global.get $sessionFlags))
      (call $byte (i32.const 1) (i32.const 44))
      (call $number (i32.const 1) (local.get $position))
      (local.set $p (call $object (i32.const 1536) (local.get $p) (i32.const 1) (i32.const 3584)))
      (local.set $position (i32.add (local.get $position) (i32.const 1)))
      (local.set $c (call $at (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $next (i32.eq (local.get $c) (i32.const 44)))
      (if (i32.ne (local.get $c) (i32.const 93)) (then unreachable)))
    (local.get $p))

  ;; The points (t 2) or to-dos (t 4) at p: each one's row, link rows and record.
  (func $records (param $p i32) (param $t i32) (param $shape i32) (result i32)
    (local $rowStart i32)
    (local $linksStart i32)
    (local $r i32)
    (local $c i32)
    (call $expect (local.get $p) (i32.const 91))
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (if (i32.eq (call $at (local.get $p)) (i32.const 93)) (then (return (i32.add (local.get $p) (i32.const 1)))))
    (loop $next
      (call $expect (local.get $p) (i32.const 123))
      (local.set $rowStart (i32.load (i32.shl (local.get $t) (i32.const 2))))
      (local.set $linksStart (i32.load offset=4 (i32.shl (local.get $t) (i32.const 2))))
      (local.set $p (call $object (local.get $shape) (local.get $p) (local.get $t) (i32.const 3584)))
      (local.set $r (call $room (i32.const 6) (i32.const 40)))
      (i32.store (local.get $r) (local.get $t))
      (i32.store offset=4 (local.get $r) (global.get $recordStart))
      (i32.store offset=8 (local.get $r) (global.get $recordEnd))
      (i32.store offset=12 (local.get $r) (i32.or (global.get $recordFlags) (global.get $ownOnly)))
      (i32.store offset=16 (local.get $r) (local.get $rowStart))
      (i32.store offset=20 (local.get $r) (i32.load (i32.shl (local.get $t) (i32.const 2))))
      (i32.store offset=24 (local.get $r) (local.get $linksStart))
      (i32.store offset=28 (local.get $r) (i32.load offset=4 (i32.shl (local.get $t) (i32.const 2))))
      (call $hash (global.get $recordStart) (global.get $recordEnd) (local.get $r))
      (call $moveTo (i32.const 6) (i32.add (local.get $r) (i32.const 40)))
      (local.set $c (call $at (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $next (i32.eq (local.get $c) (i32.const 44)))
      (if (i32.ne (local.get $c) (i32.const 93)) (then unreachable)))
    (local.get $p))

  ;; The document at p, the input ending at `end`: its rows after each output's cursor; returns
  ;; where it ends. Traps for a document off this path (or, `full` set, for want of room), having
  ;; moved the cursors, which the caller puts back.
  (func (export "document") (param $p i32) (param $end i32) (result i32)
    (global.set $end (local.get $end))
    (global.set $sessionKnown (i32.const 0))
    (i32.store (i32.const 96) (i32.const 0))
    (call $expect (local.get $p) (i32.const 123))
    (call $object (i32.const 1024) (local.get $p) (i32.const 0) (i32.const 3072))))
