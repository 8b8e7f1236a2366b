// bs extension to github.com/daulet/tokenizers' C API.
//
// scripts/build-libtokenizers.sh copies this file next to daulet's src/lib.rs
// (as src/bs_ext.rs) and appends `mod bs_ext;` to lib.rs, so these symbols are
// compiled into the same libtokenizers.a. They are additive: daulet's own
// functions and its Go package keep working unchanged.
//
// Why: daulet's C API passes text in and out as NUL-terminated C strings, so a
// text containing U+0000 is cut at the NUL on encode, and a decode whose result
// contains a NUL byte (the byte-level token for 0x00) returns NULL, i.e. "".
// It also reports only the vocabulary size *with* added tokens. These
// functions take and return (pointer, length) buffers and expose the base
// vocabulary size, the post-processor's special-token count and the special
// added tokens, with the same semantics as the Python `tokenizers` binding.
//
// Every function catches panics, so none unwinds into Go. Error strings are
// allocated with CString::into_raw and must be freed with daulet's
// tokenizers_free_string; id buffers with bs_tokenizers_free_ids; byte buffers
// with bs_tokenizers_free_bytes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use tokenizers::tokenizer::PostProcessor;

use crate::UnifiedTokenizer;

fn set_err(err: *mut *mut libc::c_char, msg: String) {
    if err.is_null() {
        return;
    }
    let msg = msg.replace('\0', " ");
    if let Ok(c) = std::ffi::CString::new(msg) {
        unsafe { *err = c.into_raw() };
    }
}

fn tok<'a>(p: *mut libc::c_void) -> Option<&'a UnifiedTokenizer> {
    if p.is_null() {
        None
    } else {
        unsafe { p.cast::<UnifiedTokenizer>().as_ref() }
    }
}

fn leak_ids(mut v: Vec<u32>, out_ids: *mut *mut u32, out_len: *mut usize) {
    v.shrink_to_fit();
    let b = v.into_boxed_slice();
    let len = b.len();
    let p = Box::into_raw(b) as *mut u32;
    unsafe {
        *out_ids = p;
        *out_len = len;
    }
}

/// Encodes text[0..len] (bytes; invalid UTF-8 is replaced with U+FFFD like
/// daulet's tokenizers_encode). On success stores a buffer of ids in
/// *out_ids/*out_len (free with bs_tokenizers_free_ids; NULL when empty) and
/// returns true. On error returns false and sets *err.
#[no_mangle]
pub extern "C" fn bs_tokenizers_encode(
    p: *mut libc::c_void,
    text: *const u8,
    len: usize,
    add_special_tokens: bool,
    out_ids: *mut *mut u32,
    out_len: *mut usize,
    err: *mut *mut libc::c_char,
) -> bool {
    if out_ids.is_null() || out_len.is_null() {
        set_err(err, "bs_tokenizers_encode: null output pointer".into());
        return false;
    }
    unsafe {
        *out_ids = ptr::null_mut();
        *out_len = 0;
    }
    let Some(t) = tok(p) else {
        set_err(err, "bs_tokenizers_encode: null tokenizer".into());
        return false;
    };
    let bytes: &[u8] = if len == 0 || text.is_null() {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(text, len) }
    };
    let s = String::from_utf8_lossy(bytes);
    let res = catch_unwind(AssertUnwindSafe(|| -> Result<Vec<u32>, String> {
        match t {
            UnifiedTokenizer::HuggingFace(hf) => hf
                .encode_fast(s.as_ref(), add_special_tokens)
                .map(|e| e.get_ids().to_vec())
                .map_err(|e| format!("encode: {e}")),
            other => other.encode(s.as_ref(), add_special_tokens).map_err(|e| format!("encode: {e}")),
        }
    }));
    match res {
        Ok(Ok(ids)) => {
            if !ids.is_empty() {
                leak_ids(ids, out_ids, out_len);
            }
            true
        }
        Ok(Err(e)) => {
            set_err(err, e);
            false
        }
        Err(_) => {
            set_err(err, "encode: panic in tokenizers".into());
            false
        }
    }
}

/// Frees an id buffer returned by bs_tokenizers_encode or bs_tokenizers_special_ids.
#[no_mangle]
pub extern "C" fn bs_tokenizers_free_ids(ids: *mut u32, len: usize) {
    if ids.is_null() {
        return;
    }
    unsafe {
        drop(Box::from_raw(ptr::slice_from_raw_parts_mut(ids, len)));
    }
}

/// Decodes ids[0..len]. On success stores the UTF-8 result (which may contain
/// NUL bytes) in *out/*out_len (free with bs_tokenizers_free_bytes; NULL when
/// empty) and returns true. On error returns false and sets *err.
#[no_mangle]
pub extern "C" fn bs_tokenizers_decode(
    p: *mut libc::c_void,
    ids: *const u32,
    len: usize,
    skip_special_tokens: bool,
    out: *mut *mut u8,
    out_len: *mut usize,
    err: *mut *mut libc::c_char,
) -> bool {
    if out.is_null() || out_len.is_null() {
        set_err(err, "bs_tokenizers_decode: null output pointer".into());
        return false;
    }
    unsafe {
        *out = ptr::null_mut();
        *out_len = 0;
    }
    let Some(t) = tok(p) else {
        set_err(err, "bs_tokenizers_decode: null tokenizer".into());
        return false;
    };
    let ids: &[u32] = if len == 0 || ids.is_null() {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(ids, len) }
    };
    let res = catch_unwind(AssertUnwindSafe(|| t.decode(ids, skip_special_tokens).map_err(|e| e.to_string())));
    match res {
        Ok(Ok(s)) => {
            if !s.is_empty() {
                let b = s.into_bytes().into_boxed_slice();
                let n = b.len();
                unsafe {
                    *out = Box::into_raw(b) as *mut u8;
                    *out_len = n;
                }
            }
            true
        }
        Ok(Err(e)) => {
            set_err(err, e);
            false
        }
        Err(_) => {
            set_err(err, "decode: panic in tokenizers".into());
            false
        }
    }
}

/// Frees a byte buffer returned by bs_tokenizers_decode.
#[no_mangle]
pub extern "C" fn bs_tokenizers_free_bytes(b: *mut u8, len: usize) {
    if b.is_null() {
        return;
    }
    unsafe {
        drop(Box::from_raw(ptr::slice_from_raw_parts_mut(b, len)));
    }
}

/// Vocabulary size: with_added_tokens=false gives the model's base vocabulary
/// (Python `get_vocab_size(False)`, transformers `tokenizer.vocab_size`).
#[no_mangle]
pub extern "C" fn bs_tokenizers_vocab_size(p: *mut libc::c_void, with_added_tokens: bool) -> usize {
    match tok(p) {
        Some(UnifiedTokenizer::HuggingFace(hf)) => {
            catch_unwind(AssertUnwindSafe(|| hf.get_vocab_size(with_added_tokens))).unwrap_or(0)
        }
        Some(other) => other.vocab_size() as usize,
        None => 0,
    }
}

/// Number of special tokens the post-processor adds to a single (is_pair=false)
/// or pair sequence: Python `num_special_tokens_to_add(is_pair)`.
#[no_mangle]
pub extern "C" fn bs_tokenizers_num_special_tokens_to_add(p: *mut libc::c_void, is_pair: bool) -> usize {
    match tok(p) {
        Some(UnifiedTokenizer::HuggingFace(hf)) => catch_unwind(AssertUnwindSafe(|| {
            hf.get_post_processor().map_or(0, |pp| pp.added_tokens(is_pair))
        }))
        .unwrap_or(0),
        _ => 0,
    }
}

/// Stores the sorted ids of the added tokens flagged `special` (the ones
/// decode drops with skip_special_tokens) in *out_ids/*out_len.
#[no_mangle]
pub extern "C" fn bs_tokenizers_special_ids(p: *mut libc::c_void, out_ids: *mut *mut u32, out_len: *mut usize) -> bool {
    if out_ids.is_null() || out_len.is_null() {
        return false;
    }
    unsafe {
        *out_ids = ptr::null_mut();
        *out_len = 0;
    }
    let ids: Vec<u32> = match tok(p) {
        Some(UnifiedTokenizer::HuggingFace(hf)) => {
            match catch_unwind(AssertUnwindSafe(|| {
                let mut v: Vec<u32> =
                    hf.get_added_tokens_decoder().into_iter().filter(|(_, t)| t.special).map(|(id, _)| id).collect();
                v.sort_unstable();
                v
            })) {
                Ok(v) => v,
                Err(_) => return false,
            }
        }
        Some(UnifiedTokenizer::Tiktoken(_, _, _, ids)) => {
            let mut v: Vec<u32> = ids.iter().copied().collect();
            v.sort_unstable();
            v
        }
        None => return false,
    };
    if !ids.is_empty() {
        leak_ids(ids, out_ids, out_len);
    }
    true
}

/// Looks up the id of a token (added or in the model vocabulary). Returns
/// false when the token is unknown.
#[no_mangle]
pub extern "C" fn bs_tokenizers_token_to_id(p: *mut libc::c_void, token: *const u8, len: usize, out_id: *mut u32) -> bool {
    if out_id.is_null() || (token.is_null() && len > 0) {
        return false;
    }
    let Some(UnifiedTokenizer::HuggingFace(hf)) = tok(p) else {
        return false;
    };
    let bytes: &[u8] = if len == 0 { &[] } else { unsafe { std::slice::from_raw_parts(token, len) } };
    let Ok(s) = std::str::from_utf8(bytes) else {
        return false;
    };
    match catch_unwind(AssertUnwindSafe(|| hf.token_to_id(s))) {
        Ok(Some(id)) => {
            unsafe { *out_id = id };
            true
        }
        _ => false,
    }
}
