//! `orch agent -help`: the agent's flags in Nomad's layout (general, server, client
//! and ACL options), kept apart from the start-up code.

/// What `orch agent -help` prints.
pub(super) const USAGE: &str = "Usage: orch agent [options]

  Starts the orch agent and runs until an interrupt is received.
  The agent may be a client and/or server.

  The agent's configuration primarily comes from the config files used,
  but a subset of the options may also be passed directly as CLI
  arguments, listed below (flags win over the files).

General Options (clients and servers):

  -bind=<addr>
    The address the agent will bind to for all of its various network
    services. The individual services that run bind to individual
    ports on this address. Defaults to the loopback 127.0.0.1.

  -config=<path>
    The path to a config file (HCL or JSON) to use for configuring the
    agent. This option may be specified multiple times; the files are
    merged in order, later values over earlier ones.

  -data-dir=<path>
    The data directory used to store state and other persistent data.
    On client machines this is used to house allocation data such as
    downloaded artifacts used by drivers. On server nodes, the data
    dir is also used to store the replicated log. Required outside -dev.

  -dc=<datacenter>
    The name of the datacenter this agent is a member of. By default
    this is set to \"dc1\".

  -log-level=<level>
    Specify the verbosity level of the agent's logs: trace, debug, info,
    warn, error or off. The default is info.

  -node=<name>
    The name of the local agent. This name is used to identify the node
    in the cluster. The name must be unique per region. The default is
    the current hostname of the machine.

  -region=<region>
    Specifies the region the agent belongs to. By default this is
    \"global\".

  -dev
    Start the agent in development mode. This enables a pre-configured
    dual-role agent (client + server) which is useful for developing
    or testing orch. No other configuration is required to start the
    agent in this mode; state lives in a temporary data directory.

Server Options:

  -server
    Enable server mode for the agent. Agents in server mode are
    clustered together and handle the additional responsibility of
    leader election, data replication, and scheduling work onto
    eligible client nodes.

  -bootstrap-expect=<num>
    Configures the expected number of servers nodes to wait for before
    bootstrapping the cluster. Once <num> servers have joined each other,
    orch initiates the bootstrap process.

  -retry-join=<address>
    Address of a server to join at start time with retries enabled.
    Can be specified multiple times.

  -num-schedulers=<num>
    The number of parallel scheduler workers to run. Defaults to the
    number of CPU cores.

Client Options:

  -client
    Enable client mode for the agent. Client mode enables a given node to
    be evaluated for allocations. If client mode is not enabled, no work
    will be scheduled to the agent.

  -servers
    A known server address to connect to, given as \"host:port\". Can be
    specified multiple times.

  -node-class
    Mark this node as a member of a node-class. This can be used to label
    similar node types.

  -node-pool
    Register this node in this node pool. If the node pool does not exist,
    it will be created automatically if the node registers in the
    authoritative region. Defaults to \"default\".

ACL Options:

  -acl-enabled
    Specifies whether the agent should enable ACLs; bootstrap the first
    management token with `orch acl bootstrap`.";
