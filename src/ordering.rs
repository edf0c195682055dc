//! Which actions run, and in what order: Cedar's `_ActionSet`.
//!
//! Every action has an index: in index mode the built-in ones are fixed
//! (rebuild/validate/initialize 0, collect 100, stage 200, store 300, purge
//! 400) and extensions bring their own; in dependency mode the index is the
//! position in a topological sort done exactly like Cedar's `DirectedGraph`
//! (depth-first from a start vertex whose edges follow creation order), so
//! ties come out in the same order Cedar picks. Items are then sorted stably
//! by index, a local item before a managed one at equal index.

use std::collections::{BTreeSet, HashMap};

use crate::config::{Config, OrderMode};

/// Built-in actions that may be combined with each other and extensions.
pub const COMBINE_ACTIONS: [&str; 4] = ["collect", "stage", "store", "purge"];
/// Actions that must be the only one on the command line.
pub const NONCOMBINE_ACTIONS: [&str; 4] = ["rebuild", "validate", "initialize", "all"];

const BUILTIN_INDEXES: [(&str, i64); 7] = [
    ("rebuild", 0),
    ("validate", 0),
    ("initialize", 0),
    ("collect", 100),
    ("stage", 200),
    ("store", 300),
    ("purge", 400),
];

/// Where an action item runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// On this machine (with its hooks).
    Local,
    /// On the managed remote peers, through their `cback_command`.
    Managed,
}

/// One scheduled action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionItem {
    /// Action name (built-in or extension).
    pub name: String,
    /// Local or managed.
    pub target: Target,
    /// Sort key.
    pub index: i64,
}

/// Why the action list cannot be run; Cedar exits 4 for each of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// Empty action list.
    #[error("No actions specified.")]
    NoActions,
    /// A name that is neither built in nor configured.
    #[error("Action [{0}] is not a valid action or extended action.")]
    Unknown(String),
    /// rebuild/validate/initialize/all with anything else.
    #[error("Action [{0}] may not be combined with other actions.")]
    NotCombinable(String),
    /// A `<depends>` entry naming no action.
    #[error("Unable to determine proper action order due to invalid dependency: [{dependency}] on extension [{extension}] is unknown.")]
    UnknownDependency {
        /// The extension whose list names it.
        extension: String,
        /// The unknown name.
        dependency: String,
    },
    /// The dependency graph has a loop.
    #[error("Unable to determine proper action order due to dependency recursion (cycle through [{0}]); check extensions for loops.")]
    Cycle(String),
    /// Index mode with an extension lacking `<index>` (config validation
    /// normally rejects this first).
    #[error("Extended action [{0}] has no index.")]
    MissingIndex(String),
}

/// Builds the ordered list of action items for `actions` as given on the
/// command line. `local` and `managed` say which kinds of item to include
/// (`-N` drops local ones, `-M`/`-N` add managed ones).
pub fn plan(
    config: &Config,
    actions: &[String],
    local: bool,
    managed: bool,
) -> Result<Vec<ActionItem>, OrderError> {
    let extensions: Vec<_> = config
        .extensions
        .iter()
        .flat_map(|e| e.actions.iter())
        .filter_map(|a| a.name.as_deref().map(|n| (n, a)))
        .collect();
    let index = index_map(config)?;
    let managed_actions = managed_action_names(config);
    validate_actions(actions, |name| extensions.iter().any(|(n, _)| *n == name))?;

    let mut items = Vec::new();
    for action in actions {
        let names: Vec<&str> = if action == "all" {
            COMBINE_ACTIONS.to_vec()
        } else {
            vec![action.as_str()]
        };
        for name in names {
            let idx = *index
                .get(name)
                .ok_or_else(|| OrderError::Unknown(name.to_string()))?;
            if local {
                items.push(ActionItem {
                    name: name.to_string(),
                    target: Target::Local,
                    index: idx,
                });
            }
            if managed && managed_actions.contains(name) {
                items.push(ActionItem {
                    name: name.to_string(),
                    target: Target::Managed,
                    index: idx,
                });
            }
        }
    }
    items.sort_by_key(|item| (item.index, item.target));
    Ok(items)
}

fn validate_actions(
    actions: &[String],
    is_extension: impl Fn(&str) -> bool,
) -> Result<(), OrderError> {
    if actions.is_empty() {
        return Err(OrderError::NoActions);
    }
    let builtin = |a: &str| COMBINE_ACTIONS.contains(&a) || NONCOMBINE_ACTIONS.contains(&a);
    if let Some(bad) = actions.iter().find(|a| !builtin(a) && !is_extension(a)) {
        return Err(OrderError::Unknown(bad.clone()));
    }
    for lone in NONCOMBINE_ACTIONS {
        if actions.iter().any(|a| a == lone) && actions.len() != 1 {
            return Err(OrderError::NotCombinable(lone.to_string()));
        }
    }
    Ok(())
}

/// Action names that at least one managed remote peer (from `<peers>`, as
/// Cedar reads it) runs: the peer's managed_actions, else the options' ones.
pub fn managed_action_names(config: &Config) -> BTreeSet<String> {
    config
        .managed_peers()
        .into_iter()
        .flat_map(|peer| config.managed_actions(peer))
        .cloned()
        .collect()
}

/// Maps every known action name to its sort index.
pub fn index_map(config: &Config) -> Result<HashMap<String, i64>, OrderError> {
    let ext = config.extensions.as_ref();
    let actions = ext.map(|e| e.actions.as_slice()).unwrap_or_default();
    let mode = ext.and_then(|e| e.order_mode).unwrap_or(OrderMode::Index);
    if actions.is_empty() || mode == OrderMode::Index {
        let mut map: HashMap<String, i64> = BUILTIN_INDEXES
            .iter()
            .map(|(n, i)| (n.to_string(), *i))
            .collect();
        for action in actions {
            let name = action.name.clone().unwrap_or_default();
            let index = action
                .index
                .ok_or_else(|| OrderError::MissingIndex(name.clone()))?;
            map.insert(name, index);
        }
        return Ok(map);
    }

    let mut graph = Graph::default();
    for (name, _) in BUILTIN_INDEXES {
        graph.vertex(name);
    }
    for action in actions {
        graph.vertex(action.name.as_deref().unwrap_or_default());
    }
    for (from, to) in [
        ("collect", "stage"),
        ("collect", "store"),
        ("collect", "purge"),
        ("stage", "store"),
        ("stage", "purge"),
        ("store", "purge"),
    ] {
        graph
            .edge(from, to)
            .map_err(|_| OrderError::Cycle(from.to_string()))?;
    }
    for action in actions {
        let name = action.name.as_deref().unwrap_or_default();
        let deps = action.dependencies.clone().unwrap_or_default();
        let unknown = |dependency: &str| OrderError::UnknownDependency {
            extension: name.to_string(),
            dependency: dependency.to_string(),
        };
        for before in &deps.before_list {
            graph.edge(name, before).map_err(|_| unknown(before))?;
        }
        for after in &deps.after_list {
            graph.edge(after, name).map_err(|_| unknown(after))?;
        }
    }
    let ordering = graph.topological_sort().map_err(OrderError::Cycle)?;
    Ok(ordering.into_iter().zip(1..).collect())
}

/// A directed graph with Cedar's vertex/edge ordering semantics.
#[derive(Default)]
struct Graph {
    names: Vec<String>,
    ids: HashMap<String, usize>,
    edges: Vec<Vec<usize>>,
}

#[derive(Clone, Copy, PartialEq)]
enum Visit {
    New,
    OnStack,
    Done,
}

impl Graph {
    fn vertex(&mut self, name: &str) {
        // Like Cedar's dict assignment, a repeated name replaces the vertex.
        let id = self.names.len();
        self.names.push(name.to_string());
        self.edges.push(Vec::new());
        self.ids.insert(name.to_string(), id);
    }

    fn edge(&mut self, from: &str, to: &str) -> Result<(), ()> {
        let (Some(&a), Some(&b)) = (self.ids.get(from), self.ids.get(to)) else {
            return Err(());
        };
        self.edges[a].push(b);
        Ok(())
    }

    /// Depth-first from a virtual start vertex that points at every vertex
    /// in creation order; a vertex is prepended when it is finished.
    fn topological_sort(&self) -> Result<Vec<String>, String> {
        let mut state = vec![Visit::New; self.names.len()];
        let mut finished = Vec::with_capacity(self.names.len());
        let live: BTreeSet<usize> = self.ids.values().copied().collect();
        for start in 0..self.names.len() {
            if !live.contains(&start) || state[start] != Visit::New {
                continue;
            }
            // Iterative DFS so hostile configs cannot overflow the stack.
            let mut stack = vec![(start, 0usize)];
            state[start] = Visit::OnStack;
            while let Some((v, next)) = stack.last_mut() {
                let v = *v;
                if let Some(&w) = self.edges[v].get(*next) {
                    *next += 1;
                    match state[w] {
                        Visit::New => {
                            state[w] = Visit::OnStack;
                            stack.push((w, 0));
                        }
                        Visit::OnStack => return Err(self.names[w].clone()),
                        Visit::Done => {}
                    }
                } else {
                    state[v] = Visit::Done;
                    finished.push(self.names[v].clone());
                    stack.pop();
                }
            }
        }
        finished.reverse();
        Ok(finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        ActionDependencies, ExtendedAction, ExtensionsConfig, OptionsConfig, PeersConfig,
        RemotePeer,
    };

    fn ext(name: &str, index: Option<i64>, before: &[&str], after: &[&str]) -> ExtendedAction {
        ExtendedAction {
            name: Some(name.into()),
            module: Some("CedarBackup3.extend.sysinfo".into()),
            function: Some("executeAction".into()),
            index,
            dependencies: Some(ActionDependencies {
                before_list: before.iter().map(|s| s.to_string()).collect(),
                after_list: after.iter().map(|s| s.to_string()).collect(),
            }),
        }
    }

    fn config(mode: Option<OrderMode>, actions: Vec<ExtendedAction>) -> Config {
        Config {
            extensions: Some(ExtensionsConfig {
                order_mode: mode,
                actions,
            }),
            ..Config::default()
        }
    }

    fn names(items: &[ActionItem]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i.target {
                Target::Local => i.name.clone(),
                Target::Managed => format!("{}@managed", i.name),
            })
            .collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn index_mode_sorts_builtins_and_extensions() {
        let cfg = config(
            None,
            vec![
                ext("sysinfo", Some(150), &[], &[]),
                ext("early", Some(5), &[], &[]),
            ],
        );
        let items = plan(
            &cfg,
            &strings(&["purge", "sysinfo", "collect", "early"]),
            true,
            false,
        )
        .expect("plan");
        assert_eq!(names(&items), ["early", "collect", "sysinfo", "purge"]);
        let items = plan(&cfg, &strings(&["all"]), true, false).expect("plan");
        assert_eq!(names(&items), ["collect", "stage", "store", "purge"]);
    }

    #[test]
    fn equal_indexes_keep_command_line_order() {
        let cfg = config(
            None,
            vec![
                ext("one", Some(100), &[], &[]),
                ext("two", Some(100), &[], &[]),
            ],
        );
        let items = plan(&cfg, &strings(&["two", "collect", "one"]), true, false).expect("plan");
        assert_eq!(names(&items), ["two", "collect", "one"]);
    }

    #[test]
    fn dependency_mode_follows_cedar_dfs() {
        let cfg = config(
            Some(OrderMode::Dependency),
            vec![
                ext("encrypt", None, &["store"], &["stage"]),
                ext("sysinfo", None, &["collect"], &[]),
                ext("report", None, &[], &["purge"]),
            ],
        );
        let all = strings(&[
            "collect", "stage", "store", "purge", "encrypt", "sysinfo", "report",
        ]);
        let items = plan(&cfg, &all, true, false).expect("plan");
        assert_eq!(
            names(&items),
            ["sysinfo", "collect", "stage", "encrypt", "store", "purge", "report"]
        );
    }

    #[test]
    fn dependency_errors() {
        let cycle = config(
            Some(OrderMode::Dependency),
            vec![ext("a", None, &["collect"], &["purge"])],
        );
        assert!(matches!(
            plan(&cycle, &strings(&["a"]), true, false),
            Err(OrderError::Cycle(_))
        ));
        let unknown = config(
            Some(OrderMode::Dependency),
            vec![ext("a", None, &["nope"], &[])],
        );
        assert_eq!(
            plan(&unknown, &strings(&["a"]), true, false),
            Err(OrderError::UnknownDependency {
                extension: "a".into(),
                dependency: "nope".into()
            })
        );
        let selfloop = config(
            Some(OrderMode::Dependency),
            vec![ext("a", None, &["a"], &[])],
        );
        assert!(matches!(
            plan(&selfloop, &strings(&["a"]), true, false),
            Err(OrderError::Cycle(_))
        ));
    }

    #[test]
    fn action_list_rules() {
        let cfg = Config::default();
        assert_eq!(plan(&cfg, &[], true, false), Err(OrderError::NoActions));
        assert_eq!(
            plan(&cfg, &strings(&["bogus"]), true, false),
            Err(OrderError::Unknown("bogus".into()))
        );
        assert_eq!(
            plan(&cfg, &strings(&["collect", "all"]), true, false),
            Err(OrderError::NotCombinable("all".into()))
        );
        assert_eq!(
            plan(&cfg, &strings(&["validate", "validate"]), true, false),
            Err(OrderError::NotCombinable("validate".into()))
        );
        assert!(plan(&cfg, &strings(&["validate"]), true, false).is_ok());
    }

    #[test]
    fn managed_items_follow_local_ones_and_only_for_managed_actions() {
        let cfg = Config {
            options: Some(OptionsConfig {
                managed_actions: Some(strings(&["collect", "purge"])),
                ..Default::default()
            }),
            peers: Some(PeersConfig {
                local_peers: None,
                remote_peers: Some(vec![
                    RemotePeer {
                        name: Some("a".into()),
                        managed: true,
                        ..Default::default()
                    },
                    RemotePeer {
                        name: Some("b".into()),
                        managed: true,
                        managed_actions: Some(strings(&["stage"])),
                        ..Default::default()
                    },
                    RemotePeer {
                        name: Some("c".into()),
                        managed: false,
                        managed_actions: Some(strings(&["store"])),
                        ..Default::default()
                    },
                ]),
            }),
            ..Config::default()
        };
        let items = plan(&cfg, &strings(&["all"]), true, true).expect("plan");
        assert_eq!(
            names(&items),
            [
                "collect",
                "collect@managed",
                "stage",
                "stage@managed",
                "store",
                "purge",
                "purge@managed"
            ]
        );
        let items = plan(&cfg, &strings(&["all"]), false, true).expect("plan");
        assert_eq!(
            names(&items),
            ["collect@managed", "stage@managed", "purge@managed"]
        );
    }
}
