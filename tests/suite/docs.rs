//! README.md documents what the code does: the parameter table is the one the code uses.

#[test]
fn readme_has_the_parameter_table_of_the_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for p in padlooper::engine::params::ALL {
        let row = p.doc_row();
        assert!(readme.contains(&row), "README.md lacks the row:\n{row}");
    }
}
