//! Every WGSL pipeline parses and validates with naga (no GPU needed).

#[test]
fn every_shader_validates() {
    for name in kvscope::render::SHADERS {
        let src = kvscope::render::shader_source(name);
        assert!(!src.is_empty(), "{name}");
        let module = naga::front::wgsl::parse_str(src)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
    // Every .wgsl file in shaders/ is used by a pipeline (or is the shared common.wgsl).
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let stem = name.trim_end_matches(".wgsl");
        assert!(
            stem == "common" || kvscope::render::SHADERS.contains(&stem),
            "{name} is not a pipeline"
        );
    }
}
