//! One-line descriptions of AWS SDK errors, with their causes, for notices and logs.

use aws_smithy_types::error::display::DisplayErrorContext;

/// An error and every cause under it, on one line.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    DisplayErrorContext(error).to_string()
}
