//! Module descriptors: the model, parsing and validation, loading from the
//! shipped/user/extra folders, and the registry that answers queries.

mod files;
pub use files::write_atomically;
pub mod folder;
pub mod init;
mod load;
mod model;
mod registry;
mod validate;

pub use load::{
    BUILTIN_DESCRIPTORS, DescriptorSources, LoadReport, LoadedDescriptor, Origin, Override,
};
pub use model::{
    A2aEndpoint, Capability, DataType, ModuleDescriptor, NAME_PATTERN, Relationship,
    RelationshipKind, descriptor_schema, descriptor_schema_text,
};
pub use registry::{Consumer, ModuleFilter, RegisterFrom, Registered, Registry, RegistryError};
pub use validate::{
    DescriptorError, Format, MAX_DEPTH, MAX_NODES, Problem, a2a_url_problem, parse_descriptor,
    parse_value, validate_value,
};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_a2a;
