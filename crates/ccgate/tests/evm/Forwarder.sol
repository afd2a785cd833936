// SPDX-License-Identifier: MIT
pragma solidity 0.8.26;

/// Moves value from inside a contract (internal transactions), in every shape
/// the trace parsers (crates/chain/src/evm/traces.rs) must tell apart: credited,
/// twice in one transaction, undone by the transaction's revert, and undone by
/// a reverted subframe while the transaction itself succeeds.
contract Forwarder {
    Reverter public immutable reverter;

    constructor() {
        reverter = new Reverter();
    }

    function forward(address payable to) external payable {
        send(to, msg.value);
    }

    function split(address payable a, address payable b) external payable {
        uint256 half = msg.value / 2;
        send(a, half);
        send(b, msg.value - half);
    }

    function forwardThenRevert(address payable to) external payable {
        send(to, msg.value);
        revert("forwardThenRevert");
    }

    /// The transfer to `viaReverter` happens in a frame that reverts; this
    /// frame catches the failure, so only the transfer to `to` takes effect.
    function tryForward(address payable to, address payable viaReverter) external payable {
        try reverter.forwardThenRevert{value: msg.value}(viaReverter) {
            revert("the reverter did not revert");
        } catch {}
        send(to, msg.value);
    }

    function send(address payable to, uint256 value) private {
        (bool ok, ) = to.call{value: value}("");
        require(ok, "transfer failed");
    }
}

contract Reverter {
    function forwardThenRevert(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "transfer failed");
        revert("Reverter");
    }
}
