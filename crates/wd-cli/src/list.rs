//! `wd list`: instances, their nodes, load and health, the node distances
//! and the relations between instances; with `--for`, what a caller would
//! get and why.

use serde_json::json;
use warpdrive::discovery::{Near, Ranked};
use warpdrive::DeviceSummary;
use wd_sys::nodes::Topology;

/// A node as printed: `-1` for none (`u32::MAX`, `wd_ops::desc::NO_NODE`).
fn node_str(n: u32) -> String {
    if n == u32::MAX {
        "-1".into()
    } else {
        n.to_string()
    }
}

/// `wd list [--json] [--for NEED [--near-cpu N]]`.
pub fn run(json: bool, need: Option<&str>, near_cpu: Option<usize>) -> anyhow::Result<()> {
    let rt = crate::mode::default_runtime()?;
    let mode = if rt.is_daemon() { "daemon" } else { "embedded" };
    let topo = rt.topology().clone();
    let cpu = near_cpu.unwrap_or_else(wd_sys::thread::current_cpu);
    if let Some(c) = near_cpu {
        anyhow::ensure!(
            topo.node_of_cpu(c).is_some(),
            "CPU {c} is on no node this process may use (nodes: {})",
            nodes_line(&topo)
        );
    }
    let here = topo.node_of_cpu(cpu);
    if let Some(w) = &topo.warning {
        eprintln!("wd: warning: NUMA topology not used ({w}): one node with every CPU");
    }
    let devs = rt.devices()?;
    let ranking = match need {
        Some(n) => Some(rt.rank(n, Near::Cpu(cpu)).map_err(|e| anyhow::anyhow!("{e}"))?),
        None => None,
    };
    let dist = |d: &DeviceSummary| here.and_then(|h| topo.distance(h, d.numa_node));
    let shares = |d: &DeviceSummary| rt.shares_memory_with(&d.name).unwrap_or_default();
    let chains = |d: &DeviceSummary| rt.chains_to(&d.name).unwrap_or_default();
    if json {
        let devices: Vec<_> = devs
            .iter()
            .map(|d| {
                let mut o = serde_json::to_value(d).unwrap_or_default();
                o["mode"] = mode.into();
                o["node"] = node_str(d.numa_node).into();
                o["distance"] = dist(d).into();
                o["shares_memory_with"] = shares(d).into();
                o["chains_to"] = chains(d).into();
                o
            })
            .collect();
        let nodes: Vec<_> =
            topo.nodes.iter().map(|n| json!({ "id": n.id, "cpus": n.cpus, "distance": n.distance })).collect();
        let mut out = json!({
            "mode": mode,
            "devices": devices,
            "topology": { "nodes": nodes, "warning": topo.warning },
            "caller": { "cpu": cpu, "node": here },
        });
        if let (Some(n), Some(r)) = (need, &ranking) {
            out["for"] = json!({
                "need": n,
                "chosen": r[0].device.name,
                "ranking": r.iter().map(|x| json!({
                    "device": x.device.name, "rank": x.rank, "node": node_str(x.device.numa_node),
                    "distance": x.distance, "free_queues": x.free_queues, "in_flight": x.device.in_flight,
                    "health": x.device.health.as_str(), "why": x.why,
                })).collect::<Vec<_>>(),
            });
        }
        println!("{out}");
        return Ok(());
    }
    println!(
        "{:<8} {:<6} {:<12} {:>4} {:>4} {:>7} {:>6} {:>8} {:<9} {:>10}  ops",
        "device", "driver", "class", "node", "dist", "engines", "queues", "inflight", "health", "max-req"
    );
    for d in &devs {
        let ops: Vec<_> = d.ops.iter().map(|o| o.name.as_str()).collect();
        println!(
            "{:<8} {:<6} {:<12} {:>4} {:>4} {:>7} {:>6} {:>8} {:<9} {:>10}  {}",
            d.name,
            d.driver,
            d.class,
            node_str(d.numa_node),
            dist(d).map_or_else(|| "-".into(), |x| x.to_string()),
            d.engines,
            d.queues_in_use,
            d.in_flight,
            d.health.as_str(),
            d.max_request,
            ops.join(",")
        );
    }
    println!();
    print_distances(&topo, cpu, here);
    println!();
    println!("relations:");
    println!("  shared memory: every instance listed reaches the same client memory (a region registered once");
    println!("    is valid on each), so each shares memory with all the others");
    let chained: Vec<String> = devs
        .iter()
        .filter(|d| !chains(d).is_empty())
        .map(|d| format!("{} -> {}", d.name, chains(d).join(",")))
        .collect();
    if chained.is_empty() {
        println!("  chains: none (no instance is chainable)");
    } else {
        println!("  chains: {}", chained.join("; "));
    }
    if let (Some(n), Some(r)) = (need, ranking) {
        println!();
        print_ranking(n, cpu, here, &r);
    }
    match rt.daemon() {
        Some((path, pid)) => println!("(daemon mode: warpd pid {pid} at {path})"),
        None => println!("(embedded mode: devices run inside this process)"),
    }
    Ok(())
}

fn nodes_line(topo: &Topology) -> String {
    let cpus = |c: &[usize]| if c.is_empty() { "no CPUs".to_string() } else { format!("CPUs {c:?}") };
    topo.nodes.iter().map(|n| format!("{} ({})", n.id, cpus(&n.cpus))).collect::<Vec<_>>().join(", ")
}

fn print_distances(topo: &Topology, cpu: usize, here: Option<u32>) {
    println!("nodes: {}", nodes_line(topo));
    print!("distance {:>4}", "");
    for n in &topo.nodes {
        print!(" {:>4}", n.id);
    }
    println!();
    for n in &topo.nodes {
        print!("node {:>8}", n.id);
        for d in &n.distance {
            print!(" {d:>4}");
        }
        println!();
    }
    match here {
        Some(h) => println!("caller: CPU {cpu} on node {h} (dist: distance from node {h})"),
        None => println!("caller: CPU {cpu} on no known node (no distances)"),
    }
}

fn print_ranking(need: &str, cpu: usize, here: Option<u32>, r: &[Ranked]) {
    let at = here.map_or_else(|| "no known node".to_string(), |h| format!("node {h}"));
    println!("for {need:?}, a caller on CPU {cpu} ({at}) gets {}:", r[0].device.name);
    println!("  ranked by health, node distance, queues free, requests in flight; equals in turn");
    for x in r {
        println!("  {}. {:<8} node {:>3}  {}", x.rank + 1, x.device.name, node_str(x.device.numa_node), x.why);
    }
}
