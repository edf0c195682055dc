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

use crate::action::Action;
use crate::config::{ExtensionOrder, ExtensionPlan, OrderMode};

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
    /// The action (built-in or extension).
    pub action: Action,
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
}

/// Builds the ordered list of action items for `actions` as given on the
/// command line. `local` and `managed` say which kinds of item to include
/// (`-N` drops local ones, `-M`/`-N` add managed ones); `managed_actions`
/// are the names at least one managed peer runs.
pub fn plan(
    extensions: &ExtensionPlan,
    managed_actions: &BTreeSet<String>,
    actions: &[String],
    local: bool,
    managed: bool,
) -> Result<Vec<ActionItem>, OrderError> {
    let index = index_map(extensions)?;
    let parsed = parse_actions(actions, extensions)?;
    let mut items = Vec::new();
    for action in parsed {
        let idx = *index
            .get(action.name())
            .ok_or_else(|| OrderError::Unknown(action.name().to_string()))?;
        if managed && managed_actions.contains(action.name()) {
            if local {
                items.push(ActionItem {
                    action: action.clone(),
                    target: Target::Local,
                    index: idx,
                });
            }
            items.push(ActionItem {
                action,
                target: Target::Managed,
                index: idx,
            });
        } else if local {
            items.push(ActionItem {
                action,
                target: Target::Local,
                index: idx,
            });
        }
    }
    items.sort_by_key(|item| (item.index, item.target));
    Ok(items)
}

/// Parses the command line's action words (`all` expanded), checking
/// Cedar's rules: at least one, each known, the lone ones alone.
fn parse_actions(
    actions: &[String],
    extensions: &ExtensionPlan,
) -> Result<Vec<Action>, OrderError> {
    if actions.is_empty() {
        return Err(OrderError::NoActions);
    }
    let mut parsed = Vec::new();
    for word in actions {
        if word == Action::ALL_WORD {
            parsed.extend(Action::ALL);
            continue;
        }
        let action = match Action::builtin(word) {
            Some(builtin) => builtin,
            None if extensions.actions.iter().any(|a| a.name == *word) => {
                Action::Extension(word.clone())
            }
            None => return Err(OrderError::Unknown(word.clone())),
        };
        parsed.push(action);
    }
    if actions.len() != 1 {
        let lone = Action::builtins()
            .filter(|a| !a.combinable())
            .map(|a| a.name().to_string())
            .chain([Action::ALL_WORD.to_string()]);
        if let Some(lone) = lone.into_iter().find(|l| actions.contains(l)) {
            return Err(OrderError::NotCombinable(lone));
        }
    }
    Ok(parsed)
}

/// Maps every known action name to its sort index.
pub fn index_map(extensions: &ExtensionPlan) -> Result<HashMap<String, i64>, OrderError> {
    let actions = &extensions.actions;
    if actions.is_empty() || extensions.order_mode == OrderMode::Index {
        let mut map: HashMap<String, i64> = Action::builtins()
            .filter_map(|a| Some((a.name().to_string(), a.builtin_index()?)))
            .collect();
        for action in actions {
            if let ExtensionOrder::Index(index) = action.order {
                map.insert(action.name.clone(), index);
            }
        }
        return Ok(map);
    }

    let mut graph = Graph::default();
    for builtin in Action::builtins() {
        graph.vertex(builtin.name());
    }
    for action in actions {
        graph.vertex(&action.name);
    }
    // collect, stage, store, purge run in that order.
    for (i, from) in Action::ALL.iter().enumerate() {
        for to in &Action::ALL[i + 1..] {
            graph
                .edge(from.name(), to.name())
                .map_err(|_| OrderError::Cycle(from.to_string()))?;
        }
    }
    for action in actions {
        let name = action.name.as_str();
        let ExtensionOrder::Depends(deps) = &action.order else {
            continue;
        };
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
    use crate::action::Extension;
    use crate::config::{ActionDependencies, ExtendedActionSettings};

    fn ext(
        name: &str,
        index: Option<i64>,
        before: &[&str],
        after: &[&str],
    ) -> ExtendedActionSettings {
        ExtendedActionSettings {
            name: name.into(),
            extension: Extension::Sysinfo,
            module: "CedarBackup3.extend.sysinfo".into(),
            order: match index {
                Some(i) => ExtensionOrder::Index(i),
                None => ExtensionOrder::Depends(ActionDependencies {
                    before_list: before.iter().map(|s| s.to_string()).collect(),
                    after_list: after.iter().map(|s| s.to_string()).collect(),
                }),
            },
        }
    }

    fn config(mode: Option<OrderMode>, actions: Vec<ExtendedActionSettings>) -> ExtensionPlan {
        ExtensionPlan {
            order_mode: mode.unwrap_or_default(),
            actions,
        }
    }

    /// [`plan`] without managed peers.
    fn plan_local(
        extensions: &ExtensionPlan,
        actions: &[String],
        local: bool,
        managed: bool,
    ) -> Result<Vec<ActionItem>, OrderError> {
        plan(extensions, &BTreeSet::new(), actions, local, managed)
    }

    fn names(items: &[ActionItem]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i.target {
                Target::Local => i.action.to_string(),
                Target::Managed => format!("{}@managed", i.action),
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
        let items = plan_local(
            &cfg,
            &strings(&["purge", "sysinfo", "collect", "early"]),
            true,
            false,
        )
        .expect("plan");
        assert_eq!(names(&items), ["early", "collect", "sysinfo", "purge"]);
        let items = plan_local(&cfg, &strings(&["all"]), true, false).expect("plan");
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
        let items =
            plan_local(&cfg, &strings(&["two", "collect", "one"]), true, false).expect("plan");
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
        let items = plan_local(&cfg, &all, true, false).expect("plan");
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
            plan_local(&cycle, &strings(&["a"]), true, false),
            Err(OrderError::Cycle(_))
        ));
        let unknown = config(
            Some(OrderMode::Dependency),
            vec![ext("a", None, &["nope"], &[])],
        );
        assert_eq!(
            plan_local(&unknown, &strings(&["a"]), true, false),
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
            plan_local(&selfloop, &strings(&["a"]), true, false),
            Err(OrderError::Cycle(_))
        ));
    }

    #[test]
    fn action_list_rules() {
        let cfg = ExtensionPlan::default();
        assert_eq!(
            plan_local(&cfg, &[], true, false),
            Err(OrderError::NoActions)
        );
        assert_eq!(
            plan_local(&cfg, &strings(&["bogus"]), true, false),
            Err(OrderError::Unknown("bogus".into()))
        );
        assert_eq!(
            plan_local(&cfg, &strings(&["collect", "all"]), true, false),
            Err(OrderError::NotCombinable("all".into()))
        );
        assert_eq!(
            plan_local(&cfg, &strings(&["validate", "validate"]), true, false),
            Err(OrderError::NotCombinable("validate".into()))
        );
        assert!(plan_local(&cfg, &strings(&["validate"]), true, false).is_ok());
    }

    #[test]
    fn managed_items_follow_local_ones_and_only_for_managed_actions() {
        let cfg = ExtensionPlan::default();
        let managed: BTreeSet<String> = strings(&["collect", "purge", "stage"])
            .into_iter()
            .collect();
        let plan_local = |cfg: &ExtensionPlan, actions: &[String], local, m| {
            plan(cfg, &managed, actions, local, m)
        };
        let items = plan_local(&cfg, &strings(&["all"]), true, true).expect("plan");
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
        let items = plan_local(&cfg, &strings(&["all"]), false, true).expect("plan");
        assert_eq!(
            names(&items),
            ["collect@managed", "stage@managed", "purge@managed"]
        );
    }
}
