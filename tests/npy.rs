//! `muse::npy`: round trips, files written by npyz directly (other byte order, Fortran
//! order), a file laid out byte for byte as NumPy's `np.save` writes it, hand-broken files,
//! and (when `python3 -c 'import numpy'` works) a cross-check with NumPy itself.

use muse::npy::{self, Array, NpyError, NpzReader, NpzWriter};
use npyz::WriterBuilder;
use num_complex::Complex;
use std::path::{Path, PathBuf};

/// A fresh directory for one test under Cargo's per-target temporary directory.
fn dir(test: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("npy")
        .join(test);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The bytes NumPy's `np.save` (format 1.0) writes: magic, version, header length, the
/// header dict padded with spaces to a multiple of 64 bytes ending in `\n`, then the data.
fn numpy_layout(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut dict = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((dict.len() as u16).to_le_bytes());
    out.extend(dict.as_bytes());
    out.extend(data);
    out
}

fn f64_bytes(x: &[f64]) -> Vec<u8> {
    x.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn round_trip_keeps_shape_and_values_for_every_element_type() {
    let d = dir("round_trip");
    let real = Array::new(vec![2, 3], vec![1.5_f64, -2.0, 3.25, 1e-300, -0.0, 7.0]);
    npy::write(d.join("r.npy"), &real).unwrap();
    assert_eq!(npy::read::<f64>(d.join("r.npy"), &[2]).unwrap(), real);

    let c128 = Array::new(
        vec![3],
        vec![
            Complex::new(1.0_f64, -1.0),
            Complex::new(0.0, 2.5),
            Complex::new(-3.0, 0.0),
        ],
    );
    npy::write(d.join("c128.npy"), &c128).unwrap();
    assert_eq!(
        npy::read::<Complex<f64>>(d.join("c128.npy"), &[1]).unwrap(),
        c128
    );

    let c64 = Array::new(
        vec![1, 2],
        vec![Complex::new(1.0_f32, 0.5), Complex::new(-0.25, 4.0)],
    );
    npy::write(d.join("c64.npy"), &c64).unwrap();
    assert_eq!(
        npy::read::<Complex<f32>>(d.join("c64.npy"), &[2]).unwrap(),
        c64
    );
    // complex64 widens exactly to complex128.
    let wide = npy::read::<Complex<f64>>(d.join("c64.npy"), &[2]).unwrap();
    assert_eq!(wide.data[1], Complex::new(-0.25, 4.0));

    npy::write(d.join("s.npy"), &Array::scalar(0.125_f64)).unwrap();
    assert_eq!(npy::read_scalar::<f64>(d.join("s.npy")).unwrap(), 0.125);
    npy::write(d.join("i.npy"), &Array::scalar(-42_i64)).unwrap();
    assert_eq!(npy::read_scalar::<i64>(d.join("i.npy")).unwrap(), -42);

    let empty = Array::new(vec![0], Vec::<f64>::new());
    npy::write(d.join("e.npy"), &empty).unwrap();
    assert_eq!(npy::read::<f64>(d.join("e.npy"), &[1]).unwrap(), empty);
}

#[test]
fn floats_convert_between_widths_by_rounding() {
    let d = dir("convert");
    let x = [0.1_f64, 1.0 / 3.0, -1e10, 65519.0];
    npy::write(d.join("x64.npy"), &Array::new(vec![4], x.to_vec())).unwrap();
    let as32 = npy::read::<f32>(d.join("x64.npy"), &[1]).unwrap();
    assert_eq!(as32.data, x.map(|v| v as f32));
    let as16 = npy::read::<half::f16>(d.join("x64.npy"), &[1]).unwrap();
    assert_eq!(as16.data, x.map(half::f16::from_f64));
    let y = [0.1_f32, -3.5];
    npy::write(d.join("y32.npy"), &Array::new(vec![2], y.to_vec())).unwrap();
    let as64 = npy::read::<f64>(d.join("y32.npy"), &[1]).unwrap();
    assert_eq!(as64.data, y.map(f64::from));
}

#[test]
fn reads_big_endian_and_fortran_order_files_written_by_npyz() {
    let d = dir("npyz_variants");
    // (2, 3) float64, big-endian, Fortran order: stored column by column.
    let path = d.join("bf.npy");
    let c_order = [1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0]; // [[1, 2, 3], [4, 5, 6]]
    let fortran = [1.0_f64, 4.0, 2.0, 5.0, 3.0, 6.0];
    {
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut w = npyz::WriteOptions::new()
            .dtype(npyz::DType::Plain(">f8".parse().unwrap()))
            .shape(&[2, 3])
            .order(npyz::Order::Fortran)
            .writer(file)
            .begin_nd()
            .unwrap();
        w.extend(fortran).unwrap();
        w.finish().unwrap();
    }
    let a = npy::read::<f64>(&path, &[2]).unwrap();
    assert_eq!(a.shape, [2, 3]);
    assert_eq!(a.data, c_order);

    // int16 0-d through npyz, read as i64.
    let path = d.join("i16.npy");
    {
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut w = npyz::WriteOptions::<i16>::new()
            .default_dtype()
            .shape(&[])
            .writer(file)
            .begin_nd()
            .unwrap();
        w.push(&-7).unwrap();
        w.finish().unwrap();
    }
    assert_eq!(npy::read_scalar::<i64>(&path).unwrap(), -7);
}

#[test]
fn reads_a_file_laid_out_as_numpy_writes_it() {
    let d = dir("numpy_layout");
    let path = d.join("np.npy");
    let vals = [0.5_f64, -1.25, 3.0, 1e-8, 2.0, -7.5];
    std::fs::write(
        &path,
        numpy_layout("<f8", false, "(2, 3)", &f64_bytes(&vals)),
    )
    .unwrap();
    let a = npy::read::<f64>(&path, &[2]).unwrap();
    assert_eq!(
        (a.shape.as_slice(), a.data.as_slice()),
        (&[2, 3][..], &vals[..])
    );

    // A 0-d float (np.save(f, np.float64(0.01))) and a 0-d int64.
    std::fs::write(
        d.join("dt.npy"),
        numpy_layout("<f8", false, "()", &f64_bytes(&[0.01])),
    )
    .unwrap();
    assert_eq!(npy::read_scalar::<f64>(d.join("dt.npy")).unwrap(), 0.01);
    std::fs::write(
        d.join("steps.npy"),
        numpy_layout("<i8", false, "()", &500_i64.to_le_bytes()),
    )
    .unwrap();
    assert_eq!(npy::read_scalar::<i64>(d.join("steps.npy")).unwrap(), 500);

    // Fortran order, (3, 2) float32.
    let f: Vec<u8> = [1.0_f32, 2.0, 3.0, 4.0, 5.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(d.join("f.npy"), numpy_layout("<f4", true, "(3, 2)", &f)).unwrap();
    let a = npy::read::<f32>(d.join("f.npy"), &[2]).unwrap();
    assert_eq!(a.data, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
}

fn err_text(e: &NpyError) -> String {
    e.to_string()
}

#[test]
fn missing_file_is_an_open_error_naming_it() {
    let d = dir("missing");
    let path = d.join("nope.npy");
    let e = npy::read::<f64>(&path, &[1]).unwrap_err();
    assert!(matches!(e, NpyError::Open { .. }), "{e}");
    assert!(err_text(&e).contains("nope.npy"), "{e}");
    assert!(matches!(
        NpzReader::open(d.join("nope.npz")),
        Err(NpyError::Open { .. })
    ));
}

#[test]
fn bad_magic_is_not_an_npy_file() {
    let d = dir("bad_magic");
    let path = d.join("text.npy");
    std::fs::write(&path, "a,b,c\n1,2,3\n").unwrap();
    let e = npy::read::<f64>(&path, &[1]).unwrap_err();
    assert!(matches!(e, NpyError::NotNpy { .. }), "{e}");
    assert!(err_text(&e).contains("text.npy") && err_text(&e).contains("not a NumPy .npy file"));
    // Too short even for the magic string.
    std::fs::write(&path, b"\x93NU").unwrap();
    assert!(matches!(
        npy::read::<f64>(&path, &[1]),
        Err(NpyError::NotNpy { .. })
    ));
    // Unsupported version.
    let mut bytes = numpy_layout("<f8", false, "(1,)", &f64_bytes(&[1.0]));
    bytes[6] = 9;
    std::fs::write(&path, bytes).unwrap();
    assert!(matches!(
        npy::read::<f64>(&path, &[1]),
        Err(NpyError::NotNpy { .. })
    ));
}

#[test]
fn truncated_files_are_reported_with_the_missing_bytes() {
    let d = dir("truncated");
    let full = numpy_layout("<f8", false, "(4,)", &f64_bytes(&[1.0, 2.0, 3.0, 4.0]));
    let path = d.join("t.npy");
    // Cut inside the data.
    std::fs::write(&path, &full[..full.len() - 5]).unwrap();
    let e = npy::read::<f64>(&path, &[1]).unwrap_err();
    assert!(matches!(e, NpyError::Truncated { .. }), "{e}");
    let msg = err_text(&e);
    assert!(
        msg.contains("t.npy") && msg.contains("32") && msg.contains("27"),
        "{msg}"
    );
    // Cut inside the header.
    std::fs::write(&path, &full[..30]).unwrap();
    let e = npy::read::<f64>(&path, &[1]).unwrap_err();
    assert!(matches!(e, NpyError::Truncated { .. }), "{e}");
    // Extra bytes after the data.
    let mut long = full.clone();
    long.extend([0u8; 8]);
    std::fs::write(&path, long).unwrap();
    let e = npy::read::<f64>(&path, &[1]).unwrap_err();
    assert!(
        matches!(
            e,
            NpyError::TrailingData {
                expected: 32,
                found: 40,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn wrong_dtype_names_the_found_and_accepted_dtypes() {
    let d = dir("dtype");
    let path = d.join("i.npy");
    std::fs::write(
        &path,
        numpy_layout("<i4", false, "(2,)", &[1, 0, 0, 0, 2, 0, 0, 0]),
    )
    .unwrap();
    let e = npy::read::<f64>(&path, &[1]).unwrap_err();
    let msg = err_text(&e);
    assert!(matches!(e, NpyError::DType { .. }), "{msg}");
    assert!(msg.contains("i.npy") && msg.contains("int32"), "{msg}");
    assert!(msg.contains("float16, float32 or float64"), "{msg}");
    // … but an integer is what i64 wants.
    assert_eq!(npy::read::<i64>(&path, &[1]).unwrap().data, [1, 2]);

    npy::write(
        d.join("c.npy"),
        &Array::new(vec![1], vec![Complex::new(1.0_f64, 0.0)]),
    )
    .unwrap();
    let e = npy::read::<f32>(d.join("c.npy"), &[1]).unwrap_err();
    assert!(err_text(&e).contains("complex128"), "{e}");
    npy::write(d.join("r.npy"), &Array::new(vec![1], vec![1.0_f32])).unwrap();
    let e = npy::read::<Complex<f64>>(d.join("r.npy"), &[1]).unwrap_err();
    assert!(
        err_text(&e).contains("float32") && err_text(&e).contains("complex64 or complex128"),
        "{e}"
    );
    let e = npy::read::<i64>(d.join("r.npy"), &[1]).unwrap_err();
    assert!(matches!(e, NpyError::DType { .. }), "{e}");

    std::fs::write(d.join("b.npy"), numpy_layout("|b1", false, "(1,)", &[1])).unwrap();
    let e = npy::read::<f64>(d.join("b.npy"), &[1]).unwrap_err();
    assert!(err_text(&e).contains("bool"), "{e}");
    std::fs::write(
        d.join("u.npy"),
        numpy_layout("<U1", false, "(1,)", &[65, 0, 0, 0]),
    )
    .unwrap();
    assert!(matches!(
        npy::read::<f64>(d.join("u.npy"), &[1]),
        Err(NpyError::DType { .. })
    ));
}

#[test]
fn wrong_rank_is_a_shape_error_with_the_shape() {
    let d = dir("rank");
    npy::write(
        d.join("m.npy"),
        &Array::new(vec![2, 2, 1], vec![1.0_f64; 4]),
    )
    .unwrap();
    let e = npy::read::<f64>(d.join("m.npy"), &[1, 2]).unwrap_err();
    let msg = err_text(&e);
    assert!(matches!(e, NpyError::Shape { .. }), "{msg}");
    assert!(
        msg.contains("m.npy") && msg.contains("(2, 2, 1)") && msg.contains("1-D or 2-D"),
        "{msg}"
    );
    npy::write(d.join("v.npy"), &Array::new(vec![1], vec![1_i64])).unwrap();
    let e = npy::read_scalar::<i64>(d.join("v.npy")).unwrap_err();
    assert!(
        err_text(&e).contains("(1,)") && err_text(&e).contains("0-d"),
        "{e}"
    );
}

#[test]
fn uint64_above_i64_max_is_a_value_error() {
    let d = dir("uint64");
    std::fs::write(
        d.join("u.npy"),
        numpy_layout("<u8", false, "()", &u64::MAX.to_le_bytes()),
    )
    .unwrap();
    assert!(matches!(
        npy::read_scalar::<i64>(d.join("u.npy")),
        Err(NpyError::Value { index: 0, .. })
    ));
}

#[test]
fn npz_round_trip_with_ode_style_members() {
    let d = dir("npz");
    let path = d.join("mlp.npz");
    let w1 = Array::new(vec![3, 2], vec![0.1_f64, -0.2, 0.3, 0.4, -0.5, 0.6]);
    let mut w = NpzWriter::create(&path).unwrap();
    w.add("W1", &w1).unwrap();
    w.add("b1", &Array::new(vec![3], vec![0.0_f64, 0.5, -0.5]))
        .unwrap();
    w.add("b2", &Array::scalar(0.25_f64)).unwrap();
    w.add("steps", &Array::scalar(1000_i64)).unwrap();
    w.add("dt", &Array::scalar(0.01_f64)).unwrap();
    w.add("q0", &Array::new(vec![2], vec![1.0_f32, 0.0]))
        .unwrap();
    w.add("z", &Array::scalar(Complex::new(0.5_f64, -0.5)))
        .unwrap();
    w.finish().unwrap();

    let mut r = NpzReader::open(&path).unwrap();
    assert_eq!(r.names(), ["W1", "b1", "b2", "dt", "q0", "steps", "z"]);
    assert_eq!(r.read::<f64>("W1", &[2]).unwrap(), w1);
    assert_eq!(r.read_scalar::<f64>("b2").unwrap(), 0.25);
    assert_eq!(r.read_scalar::<i64>("steps").unwrap(), 1000);
    assert_eq!(r.read_scalar::<f64>("dt").unwrap(), 0.01);
    assert_eq!(r.read::<f64>("q0", &[1]).unwrap().data, [1.0, 0.0]);
    assert_eq!(
        r.read_scalar::<Complex<f64>>("z").unwrap(),
        Complex::new(0.5, -0.5)
    );

    // Errors name the archive and the member.
    let e = r.read::<f64>("p0", &[1]).unwrap_err();
    let msg = err_text(&e);
    assert!(matches!(e, NpyError::MissingMember { .. }), "{msg}");
    assert!(
        msg.contains("mlp.npz") && msg.contains("member `p0`") && msg.contains("W1, b1"),
        "{msg}"
    );
    let e = r.read_scalar::<f64>("steps").unwrap_err();
    assert!(
        err_text(&e).contains("member `steps`") && err_text(&e).contains("int64"),
        "{e}"
    );
    let e = r.read_scalar::<f64>("b1").unwrap_err();
    assert!(
        err_text(&e).contains("member `b1`") && err_text(&e).contains("(3,)"),
        "{e}"
    );
}

#[test]
fn npz_that_is_not_a_zip_or_is_truncated_is_an_error() {
    let d = dir("bad_npz");
    std::fs::write(d.join("x.npz"), "hello").unwrap();
    let e = NpzReader::open(d.join("x.npz")).err().unwrap();
    assert!(
        matches!(e, NpyError::NotNpz { .. }) && err_text(&e).contains("x.npz"),
        "{e}"
    );

    let path = d.join("t.npz");
    let mut w = NpzWriter::create(&path).unwrap();
    w.add("a", &Array::new(vec![100], vec![1.0_f64; 100]))
        .unwrap();
    w.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = NpzReader::open(&path).err().unwrap();
    assert!(matches!(e, NpyError::NotNpz { .. }), "{e}");
}

#[test]
fn write_into_a_missing_directory_is_a_write_error() {
    let d = dir("write_err");
    let path = d.join("no/such/dir/g.npy");
    let e = npy::write(&path, &Array::scalar(1.0_f64)).unwrap_err();
    assert!(
        matches!(e, NpyError::Write { .. }) && !e.is_input_error(),
        "{e}"
    );
    assert!(err_text(&e).contains("g.npy"));
}

/// Cross-check with NumPy itself when it is installed; prints why it skips otherwise.
#[test]
fn numpy_reads_our_files_and_we_read_numpys() {
    let has_numpy = std::process::Command::new("python3")
        .args(["-c", "import numpy"])
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !has_numpy {
        eprintln!("skipped: `python3 -c 'import numpy'` failed (NumPy not installed)");
        return;
    }
    let d = dir("numpy");
    let ours = d.join("ours.npz");
    let mut w = NpzWriter::create(&ours).unwrap();
    w.add(
        "g",
        &Array::new(
            vec![2, 2],
            vec![
                Complex::new(1.0_f64, 2.0),
                Complex::new(3.0, -4.0),
                Complex::new(0.5, 0.0),
                Complex::new(0.0, -0.5),
            ],
        ),
    )
    .unwrap();
    w.add("z", &Array::scalar(Complex::new(0.25_f64, 0.75)))
        .unwrap();
    w.finish().unwrap();
    let script = format!(
        "import numpy as np\n\
         d = np.load(r'{ours}')\n\
         assert d['g'].dtype == np.complex128 and d['g'].shape == (2, 2), d['g']\n\
         assert d['g'][1, 0] == 0.5 and d['g'][0, 1] == 3 - 4j\n\
         assert d['z'].shape == () and d['z'] == 0.25 + 0.75j\n\
         np.save(r'{theirs}', np.arange(6, dtype=np.float32).reshape(2, 3) / 4)\n\
         np.savez(r'{theirs_npz}', steps=np.int64(7), W1=np.asfortranarray(np.eye(2, 3)))\n",
        ours = ours.display(),
        theirs = d.join("theirs.npy").display(),
        theirs_npz = d.join("theirs.npz").display(),
    );
    let status = std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
        .unwrap();
    assert!(status.success(), "numpy rejected our file");
    let a = npy::read::<f64>(d.join("theirs.npy"), &[2]).unwrap();
    assert_eq!(a.data, [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]);
    let mut r = NpzReader::open(d.join("theirs.npz")).unwrap();
    assert_eq!(r.read_scalar::<i64>("steps").unwrap(), 7);
    assert_eq!(
        r.read::<f64>("W1", &[2]).unwrap().data,
        [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    );
}
