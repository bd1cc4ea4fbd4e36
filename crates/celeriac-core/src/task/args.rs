//! Binding Celery's `args`/`kwargs` to a function's parameters.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::TaskError;

/// The arguments of one call, as they arrived.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskArgs {
    /// Positional arguments.
    pub args: Vec<Value>,
    /// Keyword arguments.
    pub kwargs: Map<String, Value>,
}

/// One parameter of a task function, for binding.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Parameter name (matched against kwargs).
    pub name: &'static str,
    /// May be omitted (an `Option<T>` parameter).
    pub optional: bool,
}

impl TaskArgs {
    /// Matches the arguments to `params` as Python would: positionals in
    /// order, then keywords by name. Returns one value per parameter
    /// (`null` for an omitted optional one).
    ///
    /// # Errors
    ///
    /// A `TypeError` task error naming the problem: too many positionals, a
    /// parameter given twice, an unknown keyword, or a missing one.
    pub fn bind(self, task: &str, params: &[Param]) -> Result<Vec<Value>, TaskError> {
        let TaskArgs { args, mut kwargs } = self;
        if args.len() > params.len() {
            return Err(TaskError::new(
                "TypeError",
                format!(
                    "{task}() takes {} positional arguments but {} were given",
                    params.len(),
                    args.len()
                ),
            ));
        }
        let given = args.len();
        let mut values = args;
        for param in &params[given..] {
            match kwargs.remove(param.name) {
                Some(value) => values.push(value),
                None if param.optional => values.push(Value::Null),
                None => {
                    return Err(TaskError::new(
                        "TypeError",
                        format!("{task}() missing required argument: '{}'", param.name),
                    ))
                }
            }
        }
        for param in &params[..given] {
            if kwargs.contains_key(param.name) {
                return Err(TaskError::new(
                    "TypeError",
                    format!("{task}() got multiple values for argument '{}'", param.name),
                ));
            }
        }
        if let Some(name) = kwargs.keys().next() {
            return Err(TaskError::new(
                "TypeError",
                format!("{task}() got an unexpected keyword argument '{name}'"),
            ));
        }
        Ok(values)
    }
}

/// Deserializes one bound argument.
///
/// # Errors
///
/// A `TypeError` task error naming the parameter and the mismatch.
pub fn decode_arg<T: DeserializeOwned>(task: &str, name: &str, value: Value) -> Result<T, TaskError> {
    serde_json::from_value(value).map_err(|e| TaskError::new("TypeError", format!("{task}() argument '{name}': {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const P: &[Param] = &[
        Param {
            name: "x",
            optional: false,
        },
        Param {
            name: "y",
            optional: false,
        },
        Param {
            name: "z",
            optional: true,
        },
    ];

    fn call(args: Value, kwargs: Value) -> Result<Vec<Value>, TaskError> {
        TaskArgs {
            args: serde_json::from_value(args).unwrap(),
            kwargs: serde_json::from_value(kwargs).unwrap(),
        }
        .bind("add", P)
    }

    #[test]
    fn binds_like_python() {
        assert_eq!(
            call(json!([1, 2]), json!({})).unwrap(),
            vec![json!(1), json!(2), Value::Null]
        );
        assert_eq!(
            call(json!([1]), json!({"y": 2, "z": 3})).unwrap(),
            vec![json!(1), json!(2), json!(3)]
        );
        let e = call(json!([1, 2, 3, 4]), json!({})).unwrap_err();
        assert!(
            e.message().contains("takes 3 positional arguments but 4 were given"),
            "{e}"
        );
        let e = call(json!([1]), json!({})).unwrap_err();
        assert!(e.message().contains("missing required argument: 'y'"), "{e}");
        let e = call(json!([1, 2]), json!({"x": 1})).unwrap_err();
        assert!(e.message().contains("multiple values"), "{e}");
        let e = call(json!([1, 2]), json!({"w": 1})).unwrap_err();
        assert!(e.message().contains("unexpected keyword argument 'w'"), "{e}");
        assert_eq!(e.kind(), "TypeError");
    }

    #[test]
    fn decode_names_the_argument() {
        let e = decode_arg::<i64>("add", "x", json!("seven")).unwrap_err();
        assert!(e.message().contains("argument 'x'"), "{e}");
    }
}
