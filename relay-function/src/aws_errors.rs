//! One-line descriptions of AWS SDK errors, with their causes, for notices and logs.

/// An error and every cause under it, on one line, each cause's message after a colon.
///
/// Not `aws_smithy_types`' `DisplayErrorContext`: it appends the whole error's `Debug`
/// form, hundreds of characters of SDK structure that no notice or log reader needs.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let text = error.to_string();
        if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = error.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn the_chain_is_one_line_without_debug_dumps() {
        let error = Layer(
            "dispatch failure",
            Some(Box::new(Layer("connection refused", None))),
        );
        assert_eq!(describe(&error), "dispatch failure: connection refused");
    }
}
