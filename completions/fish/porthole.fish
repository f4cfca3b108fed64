# fish completion for porthole(1): options, the subcommands, profile names
# (from `porthole profiles`, honouring a -F given earlier on the line), hosts
# from ~/.ssh/config and ~/.ssh/known_hosts, and -o Keyword=value.

# The words before the cursor, after the command name, that are not options
# or option arguments.
function __porthole_positionals
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for t in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $t
            case -L -R -D -J -p -l -i -o -O -F -c -m --jump --vnc --remote-port --ard-port --as \
                --helper-key --host-key --relay --dir --max-dead
                set skip 1
            case '-*'
            case '*'
                echo $t
        end
    end
end

# True when the destination, profile or subcommand comes next.
function __porthole_wants_target
    test (count (__porthole_positionals)) -eq 0
end

# True right after `check`.
function __porthole_wants_check_arg
    set -l pos (__porthole_positionals)
    test (count $pos) -eq 1; and test "$pos[1]" = check
end

# True when the positional words so far are exactly $argv (e.g. service install).
function __porthole_after
    set -l pos (__porthole_positionals)
    test (count $pos) -eq (count $argv); or return 1
    test "$pos" = "$argv"
end

# Host names from ~/.ssh/config Host lines (not patterns) and from unhashed
# ~/.ssh/known_hosts entries, without [ ] and :port.
function __porthole_hosts
    begin
        if test -r ~/.ssh/config
            string match -ri '^\s*host[\s=].*' <~/.ssh/config |
                string replace -ri '^\s*host\s*=?\s*' '' |
                string replace -r '#.*' '' |
                string replace -a '"' '' |
                string split -n ' '
        end
        if test -r ~/.ssh/known_hosts
            string match -rv '^\s*($|[#@|])' <~/.ssh/known_hosts |
                string replace -r '\s.*' '' |
                string split ',' |
                string replace -r '^\[([^\]]*)\].*' '$1'
        end
    end | string match -rv '[*?!]|^$' | sort -u
end

# user@host for the token being completed, when it holds an '@'.
function __porthole_user_hosts
    set -l token (commandline -ct)
    string match -q '*@*' -- $token; or return 0
    set -l user (string replace -r '@[^@]*$' '' -- $token)
    for h in (__porthole_hosts)
        echo $user@$h
    end
end

# Profile names: the first column of `porthole profiles`, with the -F given
# on the line. Nothing if porthole is not on PATH or the file has errors.
function __porthole_profiles
    command -q porthole; or return 0
    set -l tokens (commandline -opc)
    set -l args
    set -l next 0
    for t in $tokens
        if test $next -eq 1
            set args -F $t
            set next 0
        else if test "$t" = -F
            set next 1
        else if string match -q -- '-F?*' $t
            set args -F (string sub -s 3 -- $t)
        end
    end
    if set -q args[2]
        set args[2] (string replace -r '^~/' "$HOME/" -- $args[2])
    end
    command porthole $args profiles 2>/dev/null | string replace -r '\t.*' ''
end

# -o: Keyword= for each keyword of src/option.c's table, then its values.
function __porthole_option
    set -l token (commandline -ct)
    set token (string replace -r '^-o' '' -- $token)
    if not string match -q '*=*' -- $token
        for k in HostName Port User IdentityFile IdentitiesOnly ProxyJump ProxyCommand \
                UserKnownHostsFile StrictHostKeyChecking LocalForward RemoteForward \
                DynamicForward ServerAliveInterval ServerAliveCountMax ExitOnForwardFailure \
                GatewayPorts Compression LogLevel Reconnect ReconnectMaxDelay ConnectionWait UdpIdleTimeout \
                UdpMaxFlows RelayCommand OpenVia NotifyOnConnect ConfirmConnect ConfirmTimeout PresenceListen PresenceCheck ControlPath SshConfigFile ForwardAccess KexAlgorithms HostKeyAlgorithms Ciphers \
                MACs CertificateFile GlobalKnownHostsFile HostKeyAlias CheckHostIP \
                IdentityAgent BatchMode ConnectTimeout ConnectionAttempts \
                AddressFamily BindAddress BindInterface ForkAfterAuthentication
            echo $k=
        end
        return
    end
    set -l key (string split -m1 '=' -- $token)[1]
    set -l values
    switch (string lower -- $key)
        case identitiesonly exitonforwardfailure notifyonconnect confirmconnect gatewayports compression reconnect checkhostip \
                batchmode forkafterauthentication
            set values yes no
        case addressfamily
            set values any inet inet6
        case bindinterface
            set values (__fish_print_interfaces)
        case stricthostkeychecking
            set values yes accept-new ask no off
        case forwardaccess
            set values owner any
        case openvia
            set values auto relay channel
        case loglevel
            set values QUIET FATAL ERROR INFO VERBOSE DEBUG DEBUG1 DEBUG2 DEBUG3
        case hostname proxyjump
            set values (__porthole_hosts)
        case identityfile certificatefile userknownhostsfile globalknownhostsfile controlpath identityagent
            set values (__fish_complete_path (string split -m1 '=' -- $token)[2])
            set values (string replace -r '^.*?=' '' -- $values)
    end
    for v in $values
        echo $key=$v
    end
end

complete -c porthole -f

complete -c porthole -s L -x -d 'Listen here, connect from the server: [bind:]port:host:hostport'
complete -c porthole -s R -x -d 'Listen on the server, connect from here: [bind:]port:host:hostport'
complete -c porthole -s D -x -d 'SOCKS5/SOCKS4a proxy: [bind:]port'
complete -c porthole -s J -x -d 'Jump hosts, in order: [user@]host[:port][,...]'
complete -c porthole -s p -x -d 'SSH port on the server'
complete -c porthole -s l -x -a '(__fish_complete_users)' -d 'User to log in as'
complete -c porthole -s i -r -F -d 'Identity (private key) file'
complete -c porthole -s c -x -a '(porthole -V 2>/dev/null | string replace -rf "^available cipher: " "" | string split ,)' -d 'Ciphers to offer'
complete -c porthole -s m -x -a '(porthole -V 2>/dev/null | string replace -rf "^available mac: " "" | string split ,)' -d 'MACs to offer'
complete -c porthole -s F -r -F -d 'Config file'
complete -c porthole -s o -x -a '(__porthole_option)' -d 'Set a config keyword: Keyword=value'
complete -c porthole -s O -x -a 'check\t"Is it running" forward\t"Add the -L, -R, -D given" cancel\t"Stop listening for the -L, -R, -D given" exit\t"Stop it" stop\t"Stop listening, exit when connections end"' -d 'Control the running instance'
complete -c porthole -s 4 -d 'Reach the server over IPv4 only'
complete -c porthole -s 6 -d 'Reach the server over IPv6 only'
complete -c porthole -s b -x -d 'Local address of the SSH connection'
complete -c porthole -s B -x -a '(__fish_print_interfaces)' -d "Connect from this interface's address"
complete -c porthole -s C -d 'Compress the SSH traffic'
complete -c porthole -s E -r -F -d 'Append log lines to this file'
complete -c porthole -s f -d 'Go to the background once up'
complete -c porthole -s g -d 'Allow non-loopback listen addresses'
complete -c porthole -s N -d 'Accepted for ssh habits'
complete -c porthole -s T -d 'Accepted for ssh habits'
complete -c porthole -s n -d 'Accepted for ssh habits'
complete -c porthole -s x -d 'Accepted for ssh habits'
complete -c porthole -s a -d 'Accepted for ssh habits'
complete -c porthole -s k -d 'Accepted for ssh habits'
complete -c porthole -s v -d 'More detail on stderr'
complete -c porthole -s q -d 'Quiet: errors only'
complete -c porthole -s V -d 'Print the version and exit'
complete -c porthole -s h -d 'Print help and exit'

complete -c porthole -n __porthole_wants_target -a profiles -d 'List the profiles'
complete -c porthole -n __porthole_wants_target -a status -d 'What running instances are doing'
complete -c porthole -n __porthole_wants_target -a service -d 'Install a profile as a user service'
complete -c porthole -n __porthole_wants_target -a check -d 'Print the effective settings'
complete -c porthole -n '__porthole_wants_target; or __porthole_wants_check_arg' \
    -a '(__porthole_profiles)' -d Profile
complete -c porthole -n '__porthole_wants_target; or __porthole_wants_check_arg' \
    -a '(__porthole_hosts)' -d Host
complete -c porthole -n __porthole_wants_target -a '(__porthole_user_hosts)' -d Host
complete -c porthole -n '__porthole_after service' -a 'install uninstall status' -d 'Service action'
for action in install uninstall status
    complete -c porthole -n "__porthole_after service $action" -a '(__porthole_profiles)' -d Profile
end
complete -c porthole -n '__porthole_after status' -a '(__porthole_profiles)' -d Profile
complete -c porthole -n '__porthole_after status' -l json -d 'Machine-readable output'
complete -c porthole -n __porthole_wants_target -a invite -d 'Set up help for a family machine'
complete -c porthole -n __porthole_wants_target -a jump-setup -d 'Check the jump host for porthole'
complete -c porthole -n '__fish_seen_subcommand_from invite' -l jump -r -a '(__porthole_hosts)' -d 'The jump host'
complete -c porthole -n '__fish_seen_subcommand_from invite' -l vnc -r -d "The family machine's VNC port"
complete -c porthole -n '__fish_seen_subcommand_from invite' -l remote-port -r -d "The jump host's port for it"
complete -c porthole -n '__fish_seen_subcommand_from invite' -l ard -d 'Also UDP 3283 (Apple Remote Desktop)'
complete -c porthole -n '__fish_seen_subcommand_from invite' -l ard-port -r -d "The jump host's port for UDP 3283"
complete -c porthole -n '__fish_seen_subcommand_from invite' -l as -r -d 'The profile name on the family machine'
complete -c porthole -n '__fish_seen_subcommand_from invite' -l helper-key -r -F -d 'Your public key'
complete -c porthole -n '__fish_seen_subcommand_from invite' -l host-key -r -F -d "The jump host's public host key"
complete -c porthole -n '__fish_seen_subcommand_from invite jump-setup' -l relay -r -d 'porthole on the jump host'
complete -c porthole -n '__fish_seen_subcommand_from invite' -l dir -r -F -d 'The bundle directory'
complete -c porthole -n '__fish_seen_subcommand_from invite' -l confirm -d 'The family machine asks before each visit'
complete -c porthole -n '__fish_seen_subcommand_from invite' -l no-notify -d 'No desktop notice on the family machine'
complete -c porthole -n '__fish_seen_subcommand_from invite' -l presence-port -r -d "The jump host's port for presence checks"
complete -c porthole -n '__fish_seen_subcommand_from invite' -l no-presence -d 'No presence port'
complete -c porthole -n '__fish_seen_subcommand_from jump-setup' -l udp -d 'The relay must run there too'
complete -c porthole -n '__fish_seen_subcommand_from jump-setup' -l max-dead -r -d 'Seconds a vanished client may hold its ports'
complete -c porthole -n '__porthole_after jump-setup' -a '(__fish_complete_users)' -d Account
