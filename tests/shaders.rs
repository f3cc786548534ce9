//! The WGSL ↔ Rust contract, checked with naga (no GPU needed): every pipeline's WGSL parses and
//! validates; the structs both sides share have the same size, alignment and member offsets; the
//! vertex inputs match the Rust vertex layouts attribute by attribute; the constants of
//! `frame::contract` are what the shaders see, and no shader file declares its own.

use kvscope::frame::contract;
use kvscope::frame::{BankGrid, ShapeVertex};
use kvscope::render::gpu::{self, Globals, Particle, ParticleParams};
use kvscope::render::{shader_source, SHADERS};
use naga::{Module, ScalarKind, TypeInner, VectorSize};
use std::mem::{offset_of, size_of};

fn module(name: &str) -> Module {
    let src = shader_source(name);
    assert!(!src.is_empty(), "{name}");
    let module = naga::front::wgsl::parse_str(&src)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&src)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    module
}

#[test]
fn every_shader_validates() {
    for name in SHADERS {
        module(name);
    }
    // Every .wgsl file in shaders/ is used by a pipeline (or is the shared common.wgsl).
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let stem = name.trim_end_matches(".wgsl");
        assert!(
            stem == "common" || SHADERS.contains(&stem),
            "{name} is not a pipeline"
        );
    }
    assert!(shader_source("nonsense").is_empty());
}

/// Checks WGSL struct `name` against a Rust struct of `size` bytes with `members` (name, offset).
fn check_struct(m: &Module, name: &str, size: usize, members: &[(&str, usize)]) {
    let mut layouter = naga::proc::Layouter::default();
    layouter.update(m.to_ctx()).unwrap();
    let (handle, ty) = m
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no struct {name}"));
    let TypeInner::Struct {
        members: wgsl,
        span,
    } = &ty.inner
    else {
        panic!("{name} is not a struct");
    };
    assert_eq!(*span as usize, size, "{name}: WGSL size vs Rust size");
    let align = layouter[handle].alignment;
    assert!(
        align.is_aligned(size as u32),
        "{name}: {size} bytes is not a multiple of its WGSL alignment"
    );
    let names: Vec<&str> = wgsl.iter().map(|w| w.name.as_deref().unwrap()).collect();
    let rust: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, rust, "{name}: members");
    for (w, (n, offset)) in wgsl.iter().zip(members) {
        assert_eq!(
            w.offset as usize, *offset,
            "{name}.{n}: WGSL offset vs Rust"
        );
    }
}

#[test]
fn shared_structs_agree_in_size_alignment_and_offsets() {
    let globals = [
        ("screen", offset_of!(Globals, screen)),
        ("time", offset_of!(Globals, time)),
        ("scale", offset_of!(Globals, scale)),
        ("dot", offset_of!(Globals, dot)),
        ("bank_size", offset_of!(Globals, bank_size)),
        ("pressure", offset_of!(Globals, pressure)),
        ("flash", offset_of!(Globals, flash)),
        ("progress", offset_of!(Globals, progress)),
        ("bank_pitch", offset_of!(Globals, bank_pitch)),
        ("_pad", offset_of!(Globals, _pad)),
        ("palette", offset_of!(Globals, palette)),
    ];
    // Every pipeline includes common.wgsl's globals.
    for name in SHADERS {
        check_struct(&module(name), "Globals", size_of::<Globals>(), &globals);
    }
    // 48 bytes of scalars, then the palette: 16 bytes a slot.
    assert_eq!(size_of::<Globals>(), 48 + 16 * 32);
    let particles = module("particles");
    check_struct(
        &particles,
        "Particle",
        size_of::<Particle>(),
        &[
            ("pos", offset_of!(Particle, pos)),
            ("vel", offset_of!(Particle, vel)),
            ("life", offset_of!(Particle, life)),
            ("max_life", offset_of!(Particle, max_life)),
            ("kind", offset_of!(Particle, kind)),
            ("_pad", offset_of!(Particle, _pad)),
        ],
    );
    check_struct(
        &particles,
        "Params",
        size_of::<ParticleParams>(),
        &[
            ("die", offset_of!(ParticleParams, die)),
            ("count", offset_of!(ParticleParams, count)),
            ("sources", offset_of!(ParticleParams, sources)),
            ("frame", offset_of!(ParticleParams, frame)),
            ("_p0", offset_of!(ParticleParams, _p0)),
            ("emit", offset_of!(ParticleParams, emit)),
            ("dt", offset_of!(ParticleParams, dt)),
            ("travel", offset_of!(ParticleParams, travel)),
            ("streak", offset_of!(ParticleParams, streak)),
            ("rects", offset_of!(ParticleParams, rects)),
        ],
    );
    // 96 package rectangles after 48 bytes of scalars.
    assert_eq!(size_of::<ParticleParams>(), 48 + 16 * 96);
}

/// The vertex format a WGSL vertex input of this type reads.
fn format_of(m: &Module, ty: naga::Handle<naga::Type>) -> wgpu::VertexFormat {
    match m.types[ty].inner {
        TypeInner::Scalar(s) if s.kind == ScalarKind::Uint && s.width == 4 => {
            wgpu::VertexFormat::Uint32
        }
        TypeInner::Scalar(s) if s.kind == ScalarKind::Float && s.width == 4 => {
            wgpu::VertexFormat::Float32
        }
        TypeInner::Vector { size, scalar } if scalar.kind == ScalarKind::Float => match size {
            VectorSize::Bi => wgpu::VertexFormat::Float32x2,
            VectorSize::Tri => wgpu::VertexFormat::Float32x3,
            VectorSize::Quad => wgpu::VertexFormat::Float32x4,
        },
        ref other => panic!("no vertex format for {other:?}"),
    }
}

/// Checks the vertex inputs of `shader`'s `vs_main` (a struct argument named `arg`) against the
/// Rust attributes and the Rust struct's field offsets, in location order.
fn check_vertex_input(
    shader: &str,
    arg: &str,
    attributes: &[wgpu::VertexAttribute],
    offsets: &[usize],
) {
    let m = module(shader);
    let vs = m
        .entry_points
        .iter()
        .find(|e| e.name == "vs_main")
        .expect("vs_main");
    let input = vs
        .function
        .arguments
        .iter()
        .find(|a| a.name.as_deref() == Some(arg))
        .unwrap_or_else(|| panic!("{shader}: no argument {arg}"));
    let TypeInner::Struct { members, .. } = &m.types[input.ty].inner else {
        panic!("{shader}: {arg} is not a struct");
    };
    assert_eq!(members.len(), attributes.len(), "{shader}: inputs");
    assert_eq!(attributes.len(), offsets.len());
    for ((member, attr), offset) in members.iter().zip(attributes).zip(offsets) {
        let Some(naga::Binding::Location { location, .. }) = member.binding else {
            panic!("{shader}: {:?} has no location", member.name);
        };
        let what = member.name.as_deref().unwrap_or("?");
        assert_eq!(location, attr.shader_location, "{shader}.{what}: location");
        assert_eq!(format_of(&m, member.ty), attr.format, "{shader}.{what}");
        assert_eq!(attr.offset as usize, *offset, "{shader}.{what}: offset");
    }
}

#[test]
fn vertex_inputs_match_the_rust_layouts() {
    check_vertex_input(
        "banks",
        "inst",
        &gpu::BANK_GRID_ATTRIBUTES,
        &[
            offset_of!(BankGrid, pos),
            offset_of!(BankGrid, first),
            offset_of!(BankGrid, count),
            offset_of!(BankGrid, cols),
            offset_of!(BankGrid, rows),
        ],
    );
    check_vertex_input(
        "shapes",
        "v",
        &gpu::SHAPE_VERTEX_ATTRIBUTES,
        &[
            offset_of!(ShapeVertex, pos),
            offset_of!(ShapeVertex, color),
            offset_of!(ShapeVertex, anim),
            offset_of!(ShapeVertex, phase),
        ],
    );
    assert_eq!(size_of::<BankGrid>(), 32);
    assert_eq!(size_of::<ShapeVertex>(), 32);
}

#[test]
fn the_contract_constants_are_the_shaders_constants() {
    let mut seen = 0;
    for name in SHADERS {
        let m = module(name);
        for (_, c) in m.constants.iter() {
            let Some(cname) = c.name.as_deref() else {
                continue;
            };
            let Some(&(_, want)) = contract::WGSL_U32.iter().find(|(n, _)| *n == cname) else {
                panic!("{name}: constant {cname} is not in frame::contract");
            };
            match m.global_expressions[c.init] {
                naga::Expression::Literal(naga::Literal::U32(v)) => {
                    assert_eq!(v, want, "{name}: {cname}");
                    seen += 1;
                }
                ref e => panic!("{name}: {cname} = {e:?}"),
            }
        }
        // The compute pass's workgroup is the contract's (the dispatch divides by it).
        if let Some(cs) = m.entry_points.iter().find(|e| e.name == "cs_main") {
            assert_eq!(cs.workgroup_size, [contract::WORKGROUP_SIZE, 1, 1]);
        }
    }
    // Every constant reaches every pipeline.
    assert_eq!(seen, SHADERS.len() * contract::WGSL_U32.len());
    // The shader files declare no constants of their own: they come from the contract.
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let own: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("const "))
            .collect();
        assert!(own.is_empty(), "{}: {own:?}", path.display());
    }
    // A few values written down from the shaders' own reading of a bank state.
    assert_eq!(contract::STATE_FRESH, 65_536);
    assert_eq!(contract::SLOT_SEQUENCES + contract::SEQUENCE_SLOTS, 24);
    assert_eq!(contract::MAX_SOURCES, 96);
}
