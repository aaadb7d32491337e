//! The scalar types of KQL and their names in the places they are written: queries (`long`), Graph result
//! schemas (`Int64`) and `getschema` (`System.Int64`).

/// A KQL scalar type. `decimal` values are held as `real`, `guid` values as strings; the type is kept so
/// that schemas print what the data declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Bool,
    Int,
    Long,
    Real,
    Decimal,
    String,
    DateTime,
    TimeSpan,
    Guid,
    Dynamic,
}

impl Type {
    pub const ALL: [Type; 10] = [
        Type::Bool,
        Type::Int,
        Type::Long,
        Type::Real,
        Type::Decimal,
        Type::String,
        Type::DateTime,
        Type::TimeSpan,
        Type::Guid,
        Type::Dynamic,
    ];

    /// The name used in KQL (`typeof(long)`, `datatable(x:long)`, `gettype`, error messages).
    pub fn name(self) -> &'static str {
        match self {
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Long => "long",
            Type::Real => "real",
            Type::Decimal => "decimal",
            Type::String => "string",
            Type::DateTime => "datetime",
            Type::TimeSpan => "timespan",
            Type::Guid => "guid",
            Type::Dynamic => "dynamic",
        }
    }

    /// A type from its KQL name or one of its aliases, or from a Graph / .NET type name.
    pub fn from_name(name: &str) -> Option<Type> {
        let lower = name.trim().to_ascii_lowercase();
        let lower = lower.strip_prefix("system.").unwrap_or(&lower);
        Some(match lower {
            "bool" | "boolean" => Type::Bool,
            "int" | "int32" | "int16" | "uint16" | "byte" | "sbyte" => Type::Int,
            "long" | "int64" | "uint32" | "uint64" => Type::Long,
            "real" | "double" | "float" | "single" => Type::Real,
            "decimal" => Type::Decimal,
            "string" => Type::String,
            "datetime" | "date" | "datetimeoffset" => Type::DateTime,
            "timespan" | "time" => Type::TimeSpan,
            "guid" | "uniqueid" => Type::Guid,
            "dynamic" | "object" | "sbyte[]" => Type::Dynamic,
            _ => return None,
        })
    }

    /// The name in a Graph `runHuntingQuery` result schema.
    pub fn graph_name(self) -> &'static str {
        match self {
            Type::Bool => "Boolean",
            Type::Int => "Int32",
            Type::Long => "Int64",
            Type::Real => "Double",
            Type::Decimal => "Decimal",
            Type::String => "String",
            Type::DateTime => "DateTime",
            Type::TimeSpan => "TimeSpan",
            Type::Guid => "Guid",
            Type::Dynamic => "Object",
        }
    }

    /// The .NET name that `getschema` reports in `DataType`.
    pub fn dotnet_name(self) -> &'static str {
        match self {
            Type::Bool => "System.Boolean",
            Type::Int => "System.Int32",
            Type::Long => "System.Int64",
            Type::Real => "System.Double",
            Type::Decimal => "System.Data.SqlTypes.SqlDecimal",
            Type::String => "System.String",
            Type::DateTime => "System.DateTime",
            Type::TimeSpan => "System.TimeSpan",
            Type::Guid => "System.Guid",
            Type::Dynamic => "System.Object",
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Int | Type::Long | Type::Real | Type::Decimal)
    }

    pub fn is_stringlike(self) -> bool {
        matches!(self, Type::String | Type::Guid)
    }

    /// The wider of two numeric types (`int + long` is `long`, anything with `real` is `real`).
    pub fn widen(self, other: Type) -> Type {
        let rank = |t: Type| match t {
            Type::Int => 0,
            Type::Long => 1,
            Type::Decimal => 2,
            _ => 3,
        };
        if rank(self) >= rank(other) { self } else { other }
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
