//! `render`: how a query's author asks for its result to be drawn. Kusto returns the rows unchanged and hands
//! the chart's kind and properties to whoever shows them; the engine does the same (the rows are what they are
//! without `render`), and keeps what was asked so that the caller can draw it.

use crate::span::Span;

/// `render columnchart with (title="Releases per day", ytitle="Releases")`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Visualization {
    /// The visualization as written, such as `columnchart` (Kusto's names are lower case).
    pub kind: String,
    /// `title=`
    pub title: Option<String>,
    /// `xtitle=`
    pub xtitle: Option<String>,
    /// `ytitle=`
    pub ytitle: Option<String>,
    /// `xcolumn=`: the column on the x axis (default: the first column that can be one).
    pub xcolumn: Option<String>,
    /// `ycolumns=`: the columns drawn (default: every numeric column).
    pub ycolumns: Vec<String>,
    /// `series=`: the columns whose values make one series each (default: the text columns).
    pub series: Vec<String>,
    /// `kind=`: `default`, `stacked`, `stacked100`, `unstacked` (columns, bars and areas).
    pub stacking: Option<String>,
    /// `legend=hidden`
    pub legend_hidden: bool,
    /// `ymin=`, `ymax=`
    pub ymin: Option<f64>,
    pub ymax: Option<f64>,
    /// Properties the engine keeps no value of (`accumulate`, `xaxis`, …): named here, for a caller that wants
    /// to say they were not honoured.
    pub ignored: Vec<String>,
    /// Where `render` and its arguments are.
    pub span: Span,
}

/// Every visualization Kusto knows, for checking a name.
pub const KINDS: &[&str] = &[
    "anomalychart",
    "areachart",
    "barchart",
    "card",
    "columnchart",
    "ladderchart",
    "linechart",
    "piechart",
    "pivotchart",
    "plotly",
    "scatterchart",
    "stackedareachart",
    "table",
    "timechart",
    "timepivot",
    "treemap",
];

impl Visualization {
    /// Whether Kusto knows this visualization.
    pub fn is_known(&self) -> bool {
        KINDS.contains(&self.kind.as_str())
    }
}

/// The `render` that ends a query, if it ends with one. Only the last operator of the query's tabular
/// expression counts (Kusto allows `render` nowhere else), and the rest of the query need not be one the local
/// engine can run: a query it cannot compile can still say how its result is drawn.
pub fn visualization(text: &str) -> Option<Visualization> {
    crate::parser::parse_visualization(text)
}
